"""The investigator console: `/ui` serves one HTML page and its static files (no key needed
for these; every data call the page makes is an ordinary, role-checked API request)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(tags=["console"])

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

#: The files of the console, by name -> media type. Only these are served (no directory listing,
#: no path traversal: the route parameter is one of these names).
FILES: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "draw.js": "text/javascript; charset=utf-8",
    "views.js": "text/javascript; charset=utf-8",
    "jobs.js": "text/javascript; charset=utf-8",
}
FileName = Literal["index.html", "app.css", "app.js", "api.js", "draw.js", "views.js", "jobs.js"]

#: Everything from this server only; no inline script; data only via fetch to the same origin.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _file(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type=FILES[name], headers=HEADERS)


@router.get(
    "/ui",
    response_class=FileResponse,
    summary="The investigator console (an HTML page)",
    responses={200: {"content": {"text/html": {}}, "description": "The console page."}},
)
def console() -> FileResponse:
    return _file("index.html")


@router.get(
    "/ui/{name}",
    response_class=FileResponse,
    summary="A static file of the console",
    responses={200: {"content": {"text/html": {}, "text/css": {}, "text/javascript": {}}, "description": "The file."}},
)
def console_file(name: FileName) -> FileResponse:
    return _file(name)
