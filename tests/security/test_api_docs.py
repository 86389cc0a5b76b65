"""The API's documentation works under the Content-Security-Policy: no page that loads its
scripts from a CDN (a blank page under `script-src 'self'`); the schema itself is served."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from bot.config import PROJECT_ROOT
from bot.web.api import create_app


def test_no_docs_page_depends_on_another_origin(sqlite_services):  # type: ignore[no-untyped-def]
    with TestClient(create_app(sqlite_services)) as client:
        for path in ("/docs", "/redoc"):
            page = client.get(path)
            scripts = (
                re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", page.text) if page.status_code == 200 else []
            )
            assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))], (path, scripts)
            inline = (
                re.findall(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", page.text) if page.status_code == 200 else []
            )
            assert not inline, path  # the CSP allows no inline script
        schema = client.get("/openapi.json")
    assert schema.status_code == 200 and "/api/v1/messages" in schema.json()["paths"]
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "8000/docs" not in readme and "/openapi.json" in readme
