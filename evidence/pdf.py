"""HTML to PDF with the headless Chromium the project already uses (Debian's chromium under
Playwright's driver): JavaScript off, every network request refused, A4 with backgrounds."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from graph.errors import ConfigError

logger = logging.getLogger(__name__)

#: headless, and nothing that talks to the network on its own
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium(chromium: str | Path) -> Path | None:
    """The chromium executable `chromium` names (a path or a command on PATH), or None."""
    path = Path(chromium)
    if path.is_file():
        return path
    found = shutil.which(str(chromium))
    return Path(found) if found else None


def html_to_pdf(document: str, dest: Path, chromium: str | Path) -> Path:
    """Render `document` to the PDF file `dest`. ConfigError if chromium or Playwright is missing."""
    exe = find_chromium(chromium)
    if exe is None:
        raise ConfigError(f"no chromium at {chromium!r} (CRUMBGRAPH_CHROMIUM; apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ConfigError("rendering a PDF needs playwright (pip install playwright; no browser download)") from None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(exe), args=list(CHROMIUM_ARGS), headless=True)
        try:
            context = browser.new_context(java_script_enabled=False, offline=True)
            page = context.new_page()
            page.route("**/*", lambda route: route.abort())
            page.set_content(document, wait_until="load")
            page.pdf(path=str(dest), format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
    logger.info("PDF report %s (%d bytes)", dest, dest.stat().st_size)
    return dest
