"""In Chromium on a phone (375 x 740): `/docs` needs no sideways scrolling of the page; long
code blocks and wide tables scroll inside their own boxes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The page is the same on every database."""
    return sqlite_url


def test_the_api_reference_fits_a_phone_and_its_code_scrolls_inside_itself(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    page.goto("/docs")
    assert page.locator("h1").inner_text() == "Keyvend API reference"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Not by hiding what is too wide: the check's PHP snippet is wider than the screen and
    # scrolls inside its block, which itself stays within the screen.
    php = page.locator("#guest-serviceapikey-check pre.snippet-php")
    box = php.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert php.evaluate("e => e.scrollWidth > e.clientWidth")
    assert php.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    # The stylesheet is the docs page's own and loaded (the CSP allows only same-origin CSS).
    assert page.evaluate("[...document.styleSheets].map(s => s.href.split('/').pop())") == [
        "keyvend.css",
        "docs.css",
    ]
