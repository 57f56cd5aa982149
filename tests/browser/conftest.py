"""A headless Debian Chromium driven by Selenium, and an app served on a free loopback port.

`make test` installs Chromium and its driver where missing (as root); without them these
tests skip, and under PROVENANCE_REQUIRE_SERVICES=1 they fail.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from ledger_client.local_chain import free_port
from tests.factories import unavailable

CHROMIUM = "/usr/bin/chromium"
# Where `make screenshots` asks the browser tests to keep their pictures for the README.
SCREENSHOT_DIR = os.environ.get("PROVENANCE_SCREENSHOT_DIR")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")
    if not Path(CHROMIUM).exists() or driver_path is None:
        unavailable("Chromium or chromedriver missing: `make test` installs them as root")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn in a thread on a free loopback port: its base URL. Stopped
    on leaving."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], str]]:
    """Serve an app with uvicorn in a thread; returns its base URL. Stopped after the test."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(served(app))


def keep_screenshot(browser: object, tmp_path: Path, name: str, *, whole: bool = False) -> Path:
    """A screenshot of the page (`whole`: its full length, not the window's), in `tmp_path`
    and, for `make screenshots`, in the docs."""
    path = tmp_path / f"{name}.png"
    if whole:
        size = browser.get_window_size()  # type: ignore[attr-defined]
        height = browser.execute_script(  # type: ignore[attr-defined]
            "return document.documentElement.scrollHeight"
        )
        browser.set_window_size(size["width"], height)  # type: ignore[attr-defined]
        try:
            browser.save_screenshot(str(path))  # type: ignore[attr-defined]
        finally:
            browser.set_window_size(size["width"], size["height"])  # type: ignore[attr-defined]
    else:
        browser.save_screenshot(str(path))  # type: ignore[attr-defined]
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(SCREENSHOT_DIR) / path.name)
    return path


def assert_accessible(browser: object) -> None:
    """Every image has a text alternative; the QR code image loaded."""
    missing = browser.execute_script(  # type: ignore[attr-defined]
        "return [...document.images].filter(i => !i.alt).map(i => i.src)"
        ".concat([...document.querySelectorAll('svg')]"
        ".filter(s => !s.querySelector('title') && !s.getAttribute('aria-label')).map(s => 'svg'))"
    )
    assert missing == []
    loaded = browser.execute_script(  # type: ignore[attr-defined]
        "return [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded
