"""/docs and /redoc work without internet access: the pages and every asset they reference
come from the application itself (fastapi-offline), nothing from a CDN."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_need_no_internet(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    references = [a or b for a, b in _REFERENCE.findall(html.text)]
    assert len(references) >= 2, html.text  # the script, and the stylesheet or the spec
    for url in references:
        assert url.startswith("/") and not url.startswith("//"), url  # same origin
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100
    assert not re.search(r"https?://", html.text), "the page itself points elsewhere"
    assert "fonts.googleapis" not in html.text


def test_swagger_ui_does_not_call_the_validator(client: TestClient) -> None:
    """Swagger UI would otherwise fetch a badge from validator.swagger.io."""
    assert '"validatorUrl": null' in client.get("/docs").text
