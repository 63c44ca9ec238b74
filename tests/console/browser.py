"""Chromium for the console's browser tests: Debian's `chromium` (apt), driven by Playwright
(Playwright's own browser download is not used), headless, in a fresh profile, with nothing
that reaches the network by itself. In CI (CI set, as .ci/run is run) a missing Chromium
fails the tests; elsewhere they are skipped and say why."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1280, "height": 860}


def chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@contextmanager
def browser_context() -> Iterator[Any]:
    executable = chromium()
    if executable is None:
        message = "Chromium not found: install Debian's `chromium` (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run in CI: {message}", pytrace=False)
        pytest.skip(f"browser tests skipped: {message}")
    from playwright.sync_api import sync_playwright

    with (
        sync_playwright() as playwright,
        tempfile.TemporaryDirectory(prefix="chromium-") as profile,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=ARGS,
            viewport=VIEWPORT,
            service_workers="block",
        )
        try:
            yield context
        finally:
            context.close()
