"""Browser fixtures shared by every end-to-end module: one Chromium per session (Playwright's sync
API allows one running instance per thread, so the fixtures must live here, not in a test module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ci import require
from tests.conftest import serving

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # reported by the `browser` fixture: skip here, fail in CI
    sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def _missing() -> str | None:
    if sync_playwright is None:
        return "Playwright for Python is not installed (pip install playwright==1.65.2)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium fonts-wqy-zenhei)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _missing()
    require(reason is None, f"the browser tests: {reason}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context):
    return context.new_page()


def shot(page, name: str, full_page: bool = False) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture(scope="session")
def server(browser, live_server) -> str:  # browser first: no index is built when it would skip
    return live_server


@pytest.fixture(scope="session")
def demo_server(browser, demo_dir, tmp_path_factory):
    """A real `python -m search_app serve` over the demo reports (hash embedder: the page, not the ranking)."""
    from archive.config import load_config
    from archive.services import Archive
    from indexer.pipeline import ingest_paths

    data = tmp_path_factory.mktemp("demo-e2e")
    archive = Archive(load_config({}, data_dir=data, embedder="hash"))
    assert ingest_paths(archive, [demo_dir]).ok
    archive.close()
    with serving(data, "hash", data / "serve.log") as url:
        yield url
