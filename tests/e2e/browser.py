"""Debian's Chromium, driven headless by Playwright's protocol client, with a fresh profile.

Nothing is downloaded: the browser binary is the system's (``/usr/bin/chromium``), every launch
gets a new profile folder, and the flags stop the browser from calling home. Screenshots go to
``test-artifacts/e2e`` at the top of the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("ATTUNEMENT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
#: A phone-sized screen with touch input (CSS size of a common 6.1-inch phone).
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
