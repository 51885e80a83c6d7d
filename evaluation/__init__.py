"""The evaluation harness: judged query sets scored against an index (nDCG@10, MRR@10, Recall@20 per mode).

It reads the index the way the pages do (`search_app.search.result_set`) but is no part of the web
app: `make eval`, the quality floors of the test suite and `bench/embedders.py` run it, the server
never loads it. `python -m evaluation` is the command (`harness.py`); `python -m search_app.eval`
is its old name, kept one release.
"""
