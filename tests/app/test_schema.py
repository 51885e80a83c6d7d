"""The API answers as its OpenAPI document says: schemathesis generates requests from /api/v1/openapi.json.

Reads run against the session index (in-process, WSGI). Writes run only against a throw-away
archive (temporary data directory, hash embedder, a token of its own), never the session index.

schemathesis' pytest integration (`schemathesis.pytest.from_fixture`) relies on a pytest private
(`Node._nodeid`) that pytest 9.2 no longer has, so each operation's Hypothesis strategy is run here
directly: the same generation and the same checks, driven by a plain parametrised test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from archive.config import load_config
from search_app import create_app

TOKEN = "schema-token-0123456789"
SPEC = json.loads((Path(__file__).parents[2] / "search_app" / "openapi.json").read_text(encoding="utf-8"))
OPERATIONS = [(method.upper(), path) for path, item in SPEC["paths"].items() for method in item
              if method in ("get", "post", "put", "patch", "delete")]
# Known gaps of the document, each to be fixed there (strict: the marker must go once it is).
KNOWN_GAPS: dict = {}


def _spoilable(parameter: dict) -> bool:
    """A parameter an invalid value exists for: anything but an unconstrained string (any string is valid)."""
    return parameter.get("schema") != {"type": "string"}


def cases(methods: tuple[str, ...]) -> list:
    """(method, path, mode) for each operation; negative data only where there are parameters to spoil."""
    out = []
    for method, path in OPERATIONS:
        if method not in methods:
            continue
        item = SPEC["paths"][path]
        parameters = item.get("parameters", []) + item[method.lower()].get("parameters", [])
        has_input = any(map(_spoilable, parameters)) or item[method.lower()].get("requestBody")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if has_input else (GenerationMode.POSITIVE,):
            gap = KNOWN_GAPS.get((method, path, mode))
            marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
            out.append(pytest.param(method, path, mode, marks=marks, id=f"{method} {path} {mode.value}"))
    return out


READS = cases(("GET",))
WRITES = cases(("POST", "PUT", "PATCH", "DELETE"))
BOUNDED = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


# The API is lenient on purpose where a form is: an empty parameter means its default (HTML forms
# send empty fields) and an unknown doc_type filters to nothing, like an unknown region. So invalid
# input is not required to be refused; it must still never cause a 500 or an undocumented answer.
READ_EXCLUDED = [checks.negative_data_rejection]
# An upload that is valid by the schema (any bytes, any file name) is still refused when it is not
# a report (415, 422): for writes, only "no 500, documented status, documented body" is asked.
WRITE_EXCLUDED = [checks.positive_data_acceptance, checks.negative_data_rejection]


def fuzz(schema, method: str, path: str, mode: GenerationMode, **validate) -> None:
    """Up to 50 generated requests to one operation; every response checked against the document."""
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @BOUNDED
    def run(case):
        case.call_and_validate(**validate)

    run()  # Unsatisfiable here means `cases` offered negative data where nothing can be spoiled


@pytest.fixture(scope="session")
def read_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture(scope="session")
def write_schema(tmp_path_factory):
    config = load_config({}, data_dir=tmp_path_factory.mktemp("schema-writes") / "data", embedder="hash",
                         api_tokens=(TOKEN,))
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", create_app(config))


@pytest.mark.parametrize("method, path, mode", READS)
def test_reads_conform_to_the_schema(read_schema, method, path, mode):
    fuzz(read_schema, method, path, mode, excluded_checks=READ_EXCLUDED)


@pytest.mark.parametrize("method, path, mode", WRITES)
def test_writes_conform_to_the_schema(write_schema, method, path, mode):
    fuzz(write_schema, method, path, mode, headers={"Authorization": f"Bearer {TOKEN}"},
         excluded_checks=WRITE_EXCLUDED)


def _served_api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/healthz":
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            routes |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_every_api_route_is_documented(tmp_path):
    app = create_app(load_config({}, data_dir=tmp_path / "data", embedder="hash"))
    served = _served_api_routes(app)
    documented = {(method, path) for method, path in OPERATIONS}
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


@pytest.mark.parametrize("path, path_parameters, query", [
    ("/api/v1/search", None, {"q": "行政复议 办案数"}),
    ("/api/v1/search", None, {"q": "行政复议", "mode": "keyword", "sort": "date", "size": 3, "page": 2}),
    ("/api/v1/search", None, {"q": "老百姓打电话反映问题的渠道", "mode": "semantic", "year_from": 2018}),
    ("/api/v1/search", None, {}),
    ("/api/v1/documents/{doc_id}", "first", {"q": "行政复议"}),
    ("/api/v1/documents/{doc_id}", "first", {}),
    ("/api/v1/documents/{doc_id}/original", "first", {}),
    ("/healthz", None, {}),
    ("/api/v1/documents", None, {}),
    ("/api/v1/documents", None, {"sort": "year", "order": "desc", "size": 2, "page": 2}),
    ("/api/v1/coverage", None, {}),
    ("/api/v1/export/{kind}.{fmt}", {"kind": "grid-matrix", "fmt": "xlsx"}, {"q": "行政复议", "rollup": "province"}),
    ("/api/v1/export/{kind}.{fmt}", {"kind": "figures", "fmt": "csv"}, {"q": "行政复议"}),
])
def test_real_answers_conform(read_schema, app, path, path_parameters, query):
    """Random requests rarely find a document or a hit: these do, and their bodies are checked too."""
    if path_parameters == "first":
        path_parameters = {"doc_id": app.extensions["archive"].backend.list_documents()[0].doc_id}
    case = read_schema[path]["GET"].Case(path_parameters=path_parameters, query=query)
    response = case.call_and_validate(excluded_checks=READ_EXCLUDED)
    assert response.status_code == 200
    if path == "/api/v1/search" and query.get("q"):
        assert response.json()["hits"]
    if path == "/api/v1/documents":
        assert response.json()["documents"]
    if path == "/api/v1/coverage":
        assert response.json()["rows"]
