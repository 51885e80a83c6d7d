"""Lucene's BM25, reproduced: field-length encoding, IDF and per-term scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from archive import bm25


@pytest.mark.parametrize(("length", "stored"), [
    (0, 0), (1, 1), (23, 23), (24, 24), (25, 25), (31, 31), (40, 40),  # small lengths are exact
    (41, 40), (47, 46), (100, 96), (1000, 984), (2**31 - 1, 2013265944),  # then 4 significant bits
])
def test_lengths_are_stored_as_lucene_does(length, stored):
    assert bm25.stored_lengths(np.array([length]))[0] == stored


def test_stored_lengths_never_grow_and_lose_under_an_eighth():
    n = np.arange(1, 100_000)
    stored = bm25.stored_lengths(n)
    assert np.all(stored <= n) and np.all(np.diff(stored) >= 0)
    assert np.all((n - stored) / n < 1 / 8)
    assert bm25.encode_length(2**31 - 1) == 255


@pytest.mark.parametrize(("df", "n", "expected"), [
    (1, 100, math.log(1 + 99.5 / 1.5)),
    (50, 100, math.log(1 + 50.5 / 50.5)),
    (99, 100, math.log(1 + 1.5 / 99.5)),  # a word in nearly every passage still counts a little
    (100, 100, math.log(1 + 0.5 / 100.5)),
])
def test_idf_stays_positive(df, n, expected):
    assert bm25.idf(df, n) == pytest.approx(expected, rel=1e-6)
    assert bm25.idf(df, n) > 0


@pytest.mark.parametrize(("tf", "length", "avgdl", "boost"), [
    (1, 10, 10.0, 1.0), (3, 10, 10.0, 1.0), (1, 40, 10.0, 1.0), (2, 5, 20.0, 0.5), (7, 96, 31.5, 3.0),
])
def test_term_scores_follow_the_classic_formula(tf, length, avgdl, boost):
    weight = bm25.weight(boost, 10, 1000)
    got = bm25.term_scores(np.array([tf]), np.array([length], np.float32), weight, np.float32(avgdl))[0]
    k1, b = 1.2, 0.75
    expected = boost * (k1 + 1) * math.log(1 + 990.5 / 10.5) * tf / (tf + k1 * (1 - b + b * length / avgdl))
    assert got == pytest.approx(expected, rel=1e-5)


def test_more_occurrences_score_higher_and_longer_fields_lower():
    weight = bm25.weight(1.0, 5, 100)
    by_tf = bm25.term_scores(np.array([1, 2, 4]), np.full(3, 20, np.float32), weight, np.float32(20))
    by_length = bm25.term_scores(np.ones(3), np.array([5, 20, 80], np.float32), weight, np.float32(20))
    assert list(by_tf) == sorted(by_tf) and list(by_length) == sorted(by_length, reverse=True)
