"""Benchmarks (not tests): corpus generator, ingest, query latency, load, start-up. See bench/RESULTS.md."""
