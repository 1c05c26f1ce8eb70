"""Browser fixtures: the gateway as a real uvicorn process with demo data, and one headless Debian
Chromium for the whole session (driven by Playwright, which never downloads a browser here)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium"))


_SERVER_PLACEMENT = frozenset(
    f"GATEWAY_{name}"
    for name in (
        "DATA_DIR", "DATABASE_URL", "LISTEN", "PUBLIC_BASE_URL", "TOKEN_SECRET", "TOKEN_SECRET_FILE",
        "GATEWAY_KEY_FILE", "LOG_LEVEL",
    )
)  # fmt: skip


@dataclass(frozen=True)
class LiveGateway:
    base_url: str
    data_dir: Path
    credentials: dict[str, Any]

    @property
    def database(self) -> Path:
        return self.data_dir / "gateway.db"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    data_dir = tmp_path_factory.mktemp("live-gateway")
    port = _free_port()
    # Everything that would point the server at another database, address, or key is dropped: the
    # test reads the token key and the SQLite file from data_dir. Other settings (a letter font) stay.
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_PLACEMENT}
    env |= {"GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_LOG_LEVEL": "WARNING"}
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--demo", "--listen", f"127.0.0.1:{port}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"gateway exited with {process.returncode}: {(data_dir / 'server.log').read_text()}"
                )
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gateway did not start: {(data_dir / 'server.log').read_text()}")
            time.sleep(0.25)
        credentials = json.loads((data_dir / "credentials.json").read_text(encoding="utf-8"))
        yield LiveGateway(base_url, data_dir, credentials)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in the main thread
# while it is open, so any later test calling asyncio.run() (the idempotency and calendar tests do)
# failed with "cannot be called from a running event loop" whenever the browser tests ran first.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the browser tests drive Debian's chromium package "
            "(`./dev test` installs it; or `apt-get install chromium`, or set GATEWAY_TEST_CHROMIUM)"
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def context(browser: Browser, live_gateway: LiveGateway) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_gateway.base_url, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(20_000)
    yield context
    context.close()
