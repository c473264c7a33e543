"""Fixtures for the browser tests: the real server on a fresh SQLite file, and Chromium."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from app_server import AppServer
from browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[AppServer]:
    """``attunement serve --demo`` on a new SQLite file, ready once /healthz answers."""
    folder = tmp_path_factory.mktemp("e2e-db")
    app = AppServer(f"sqlite:///{folder / 'attunement.db'}", demo=True, log_dir=folder)
    app.start()
    yield app
    app.stop()


@pytest.fixture(scope="session")
def playwright_driver():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def open_browser(playwright_driver) -> Iterator[Callable[..., object]]:
    """Open a Chromium with a fresh profile; every one opened is closed after the test."""
    opened = []
    folders = []

    def launch(**context_options):
        folder = tempfile.mkdtemp(prefix="attunement-chromium-")
        folders.append(folder)
        context = playwright_driver.chromium.launch_persistent_context(
            folder,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            **context_options,
        )
        opened.append(context)
        return context

    yield launch
    for context in opened:
        context.close()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
