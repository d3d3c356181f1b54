"""`/docs` is a usable reference: key checks first in its contents, and per endpoint its
parameters (required marked), result type, error codes and an example; PHP and JavaScript for
the check; a stylesheet of its own; no script."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from keyvend.api import error_docs, examples
from keyvend.api.docs import anchor
from keyvend.api.registry import ENDPOINTS
from keyvend.app import create_app
from keyvend.config import Settings
from tests.conftest import SECRET

FIRST = [
    "guest-serviceapikey-check",
    "guest-serviceapikey-get_info",
    "guest-serviceapikey-verify",
    "guest-serviceapikey-events",
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir: Path = tmp_path_factory.mktemp("docs-page")
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'keyvend.db'}",
        secret_key=SECRET,
        public_url="https://keys.example.com",
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def page(client: TestClient) -> str:
    response = client.get("/docs")
    assert response.status_code == 200
    return response.text


def section(page: str, section_id: str) -> str:
    """The HTML of one endpoint's section."""
    start = page.index(f'<section class="endpoint" id="{section_id}">')
    return page[start : page.index("</section>", start)]


def test_the_contents_list_the_key_checks_and_the_stream_first(page: str) -> None:
    contents = page[page.index('id="contents"') : page.index("</nav>")]
    links = re.findall(r'href="#([^"]+)"', contents)
    assert links[:4] == FIRST
    assert set(links) >= {anchor(e.path) for e in ENDPOINTS.values()}
    sections = re.findall(r'<section class="endpoint" id="([^"]+)"', page)
    assert sections[:4] == FIRST
    assert len(sections) == len(ENDPOINTS) + 1  # every endpoint, and the stream


@pytest.mark.parametrize("key", sorted(ENDPOINTS), ids="/".join)
def test_each_endpoint_shows_its_parameters_result_errors_and_example(
    page: str, key: tuple[str, str, str]
) -> None:
    endpoint = ENDPOINTS[key]
    html = unescape(section(page, anchor(endpoint.path)))
    assert "<h4>Result</h4>" in html and '<code class="result-type">' in html
    for doc in error_docs.errors_of(endpoint):
        assert f"<td><code>{doc.code}</code></td><td>{doc.status}</td>" in html
        assert doc.when in html
    curl = examples.curl(endpoint, examples.of(endpoint))
    assert f'<pre class="example-request"><code>{curl}' in html
    assert '<pre class="example-answer"><code>{' in html


def test_required_parameters_are_marked(page: str) -> None:
    check = section(page, "guest-serviceapikey-check")
    assert '<td><code>key</code></td><td>string</td><td><strong class="required">required' in check
    verify = section(page, "guest-serviceapikey-verify")
    assert "<td><code>cost</code></td><td>integer</td><td>optional</td>" in verify


def test_the_result_type_is_shown_with_its_fields(page: str) -> None:
    verify = unescape(section(page, "guest-serviceapikey-verify"))
    assert '<code class="result-type">KeyVerification</code>' in verify
    assert "  code: VerifyCode" in verify
    assert 'VerifyCode = "VALID" | "NOT_FOUND"' in verify


def test_the_check_shows_php_and_javascript_for_the_public_url(page: str) -> None:
    check = unescape(section(page, "guest-serviceapikey-check"))
    assert "curl_init('https://keys.example.com/api/guest/serviceapikey/check')" in check
    assert 'fetch("https://keys.example.com/api/guest/serviceapikey/check"' in check
    assert "export KV=https://keys.example.com/api" in unescape(page)


def test_the_page_has_its_own_stylesheet_and_no_script(client: TestClient, page: str) -> None:
    assert '<link rel="stylesheet" href="/static/docs.css">' in page
    assert "<script" not in page and "style=" not in page  # the docs CSP allows neither
    css = client.get("/static/docs.css")
    assert css.status_code == 200 and "overflow-x: auto" in css.text
