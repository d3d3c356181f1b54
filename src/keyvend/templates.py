"""The one Jinja2 environment, for the pages (`web/templates`) and the API (`api/...`).

Page templates are named as they are in their folder (`admin/order.html`); the API's carry the
`api/` prefix (`api/docs.html`). Autoescaping is on for every template and none marks a value
`|safe`: HTML attributes are passed as mappings and escaped by `xmlattr` (see `macros.html`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape

from keyvend.web.templating import FILTERS, GLOBALS

PACKAGE = Path(__file__).parent

ENV = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(PACKAGE / "web" / "templates"),
            PrefixLoader({"api": FileSystemLoader(PACKAGE / "api" / "templates")}),
        ]
    ),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(FILTERS)
ENV.globals.update(GLOBALS)


def render_template(name: str, **context: Any) -> str:
    """Render a template of the one environment, with the pages' filters."""
    return ENV.get_template(name).render(**context)
