"""Access control: read tokens, the CORS allow-list, tokens kept out of logs, no debugger when serving."""

import io
import logging
import urllib.error
import urllib.request

import pytest

from archive.config import load_config
from search_app import create_app

READ = "read-token-abcdefgh-0001"
WRITE = "write-token-ijklmnop-0002"
WRONG = "wrong-token-qrstuvwx-0003"
ORIGIN = "https://intranet.example.org"
REPORT = "云溪市2021年法治政府建设年度报告\n一、总体情况\n全年收到行政复议申请152件，受理138件。\n".encode()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def make_app(tmp_path, **settings):
    config = load_config({}, data_dir=tmp_path / "data", embedder="hash", api_tokens=(WRITE,), **settings)
    return create_app(config)


def upload(client, token=WRITE, data=REPORT, metadata=None):
    form = {"file": (io.BytesIO(data), "report.txt")}
    if metadata is not None:
        form["metadata"] = metadata
    return client.post("/api/v1/documents", data=form, headers=bearer(token), content_type="multipart/form-data")


@pytest.fixture()
def private(tmp_path):
    """An app with read tokens and a CORS origin, holding one uploaded report; yields (client, doc_id)."""
    client = make_app(tmp_path, read_tokens=(READ,), cors_origins=(ORIGIN,)).test_client()
    resp = upload(client)
    assert resp.status_code == 201, resp.get_json()
    return client, resp.get_json()["doc_id"]


READ_PATHS = ["/api/v1/search?q=行政复议", "/api/v1/documents/{doc}", "/api/v1/documents/{doc}?q=复议",
              "/api/v1/openapi.json", "/", "/search?q=行政复议", "/doc/{doc}", "/doc/{doc}?q=复议", "/help"]


@pytest.mark.parametrize("path", READ_PATHS)
def test_reads_need_a_read_or_write_token(private, path):
    client, doc = private
    url = path.format(doc=doc)
    missing = client.get(url)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(url, headers=bearer(WRONG)).status_code == 403
    for header in ({"Authorization": "Basic " + READ}, {"Authorization": "Bearer"}, {"Authorization": "Bearer  "}):
        assert client.get(url, headers=header).status_code == 401
    assert client.get(url, headers=bearer(READ)).status_code == 200
    assert client.get(url, headers=bearer(WRITE)).status_code == 200
    if url.startswith("/api/"):
        assert missing.get_json()["error"]["code"] == "unauthorized"
        assert client.get(url, headers=bearer(WRONG)).get_json()["error"]["code"] == "forbidden"
    else:
        assert "text/html" in missing.content_type


def test_unknown_paths_reveal_nothing_without_a_token(private):
    client, _ = private
    assert client.get("/no/such/page").status_code == 401
    assert client.get("/api/v1/no-such-thing").status_code == 401
    assert client.get("/no/such/page", headers=bearer(READ)).status_code == 404


def test_health_and_static_files_stay_open(private):
    client, _ = private
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["status"] == "ok"
    for name in ("style.css", "app.js"):
        assert client.get(f"/static/{name}").status_code == 200


def test_a_read_token_cannot_write(private):
    client, doc = private
    assert upload(client, token=READ).status_code == 403
    assert client.delete(f"/api/v1/documents/{doc}", headers=bearer(READ)).status_code == 403
    assert client.delete(f"/api/v1/documents/{doc}").status_code == 401
    assert client.delete(f"/api/v1/documents/{doc}", headers=bearer(WRITE)).status_code == 204


def test_without_read_tokens_reads_are_open(tmp_path):
    client = make_app(tmp_path).test_client()
    assert client.get("/api/v1/search?q=复议").status_code == 200
    assert client.get("/search?q=复议").status_code == 200
    assert upload(client, token=READ).status_code == 403  # writes still need a write token


@pytest.mark.parametrize("token", [
    READ[:-1], READ + "1", READ.upper(), READ[1:], READ[:8], "", WRONG, READ + "," + WRITE,
], ids=["prefix", "longer", "case", "suffix", "short", "empty", "wrong", "both-joined"])
def test_only_a_configured_token_exactly_opens_reads(private, token):
    """Tokens are compared whole (hmac.compare_digest in auth.token_allowed): near misses are refused."""
    client, _ = private
    assert client.get("/api/v1/search?q=x", headers=bearer(token)).status_code in (401, 403)
    assert client.get("/api/v1/search?q=x", headers=bearer(READ)).status_code == 200
    assert client.get("/api/v1/search?q=x", headers=bearer(WRITE)).status_code == 200  # a write token reads too


# -- CORS -------------------------------------------------------------------------------------


def test_cors_allowed_origin_gets_its_own_origin_back(private):
    client, doc = private
    for path in ("/api/v1/search?q=复议", f"/api/v1/documents/{doc}"):
        resp = client.get(path, headers={**bearer(READ), "Origin": ORIGIN})
        assert resp.status_code == 200
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "Origin" in resp.headers.get_all("Vary") or "Origin" in resp.headers["Vary"]
    # An error is readable by the allowed page too (it can show "log in again").
    denied = client.get("/api/v1/search?q=x", headers={"Origin": ORIGIN})
    assert denied.status_code == 401 and denied.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("origin", ["https://evil.example.org", "https://intranet.example.org.evil.org",
                                    "http://intranet.example.org", "null", ORIGIN + ":8443"])
def test_cors_other_origins_get_no_grant(private, origin):
    client, _ = private
    resp = client.get("/api/v1/search?q=复议", headers={**bearer(READ), "Origin": origin})
    assert resp.status_code == 200
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert "Origin" in resp.headers["Vary"]


def test_cors_preflight(private):
    client, doc = private
    for method, path in (("POST", "/api/v1/documents"), ("DELETE", f"/api/v1/documents/{doc}"),
                         ("GET", "/api/v1/search")):
        resp = client.options(path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": method,
                                             "Access-Control-Request-Headers": "authorization, content-type"})
        assert resp.status_code == 204, (method, path)
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")} == {"GET", "POST", "DELETE"}
        assert {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")} \
            == {"authorization", "content-type"}
    evil = client.options("/api/v1/documents", headers={"Origin": "https://evil.example.org",
                                                         "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    assert "Access-Control-Allow-Methods" not in evil.headers


def test_cors_is_for_the_api_only_and_never_a_wildcard(private, tmp_path):
    client, _ = private
    page = client.get("/search?q=复议", headers={**bearer(READ), "Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in page.headers
    health = client.get("/healthz", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in health.headers
    plain = make_app(tmp_path / "plain").test_client()  # no CORS configured: no grant to anyone
    resp = plain.get("/api/v1/search?q=x", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in resp.headers
    for resp in (client.get("/api/v1/search?q=x", headers={**bearer(READ), "Origin": o})
                 for o in (ORIGIN, "https://evil.example.org", "*")):
        assert resp.headers.get("Access-Control-Allow-Origin") != "*"


# -- logs -------------------------------------------------------------------------------------


def test_tokens_never_appear_in_logs(private, caplog, monkeypatch):
    client, doc = private
    caplog.set_level(logging.DEBUG)
    client.get("/api/v1/search?q=行政复议", headers=bearer(READ))
    client.get("/search?q=行政复议", headers=bearer(WRITE))
    client.get("/api/v1/search?q=x", headers=bearer(WRONG))
    client.get("/doc/" + doc, headers=bearer(WRONG))
    upload(client, token=WRONG)
    upload(client, token=READ)
    upload(client, data=REPORT.replace(b"152", b"153"))
    upload(client, metadata="{not json")
    upload(client, data=b"")  # a parse failure is logged by the pipeline
    client.delete("/api/v1/documents/nope", headers=bearer(WRITE))

    from search_app import service

    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(service, "search", boom)
    assert client.get("/api/v1/search?q=x", headers=bearer(READ)).status_code == 500
    assert client.get("/search?q=x", headers=bearer(WRITE)).status_code == 500
    assert "simulated failure" in caplog.text  # the logs were captured, and the 500s logged
    for token in (READ, WRITE, WRONG):
        assert token not in caplog.text
        for record in caplog.records:
            assert token not in record.getMessage()
            assert token not in (record.exc_text or "")


# -- serving ----------------------------------------------------------------------------------


def test_app_never_runs_in_debug_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = make_app(tmp_path)
    assert app.debug is False
    assert app.config["PROPAGATE_EXCEPTIONS"] in (None, False)


def test_serve_uses_waitress_not_the_werkzeug_debugger(live_server):
    with urllib.request.urlopen(live_server + "/healthz", timeout=10) as resp:
        server = resp.headers["Server"]
    assert server == "archive", server  # waitress with ident="archive"; Werkzeug says "Werkzeug/..."
    # The Werkzeug debugger's console and resources are not there.
    for path in ("/console", "/?__debugger__=yes&cmd=resource&f=debugger.js"):
        try:
            with urllib.request.urlopen(live_server + path, timeout=10) as resp:
                body = resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404 and exc.headers["Server"] == "archive"
            body = exc.read().decode("utf-8", "replace")
        assert "Werkzeug" not in body and "__debugger__" not in body and "Traceback" not in body
