"""`key` is required on the key checks, and both lanes refuse a call without one alike.

The documents mark `key` required (tests/api/test_openapi_types.py); at run time a missing,
null, empty or blank key answers FOSSBilling's error, the one DESIGN.md section 4 names, from
the fast lane (a JSON body or a query string) and from the dispatcher (a form body) alike.
"""

from __future__ import annotations

from typing import Any

import pytest

from keyvend.services.serviceapikey import NO_KEY
from tests.conftest import Api

NO_KEY_ANSWER = {"result": None, "error": {"message": NO_KEY, "code": 9999}}


@pytest.mark.parametrize("method", ["check", "get_info", "verify"])
@pytest.mark.parametrize("params", [{}, {"key": ""}, {"key": "   "}, {"key": None}])
def test_a_call_without_a_key_is_refused_alike_on_both_lanes(
    api: Api, method: str, params: dict[str, Any]
) -> None:
    path = f"/api/guest/serviceapikey/{method}"
    sent = {name: value for name, value in params.items() if value is not None}
    answers = [
        api.client.post(path, json=params),  # the fast lane: a JSON body
        api.client.get(path, params=sent),  # the fast lane: a query string
        # A form body always goes to the dispatcher (api/hot_path.py `_usual`).
        api.client.post(path, data={**sent, "unrelated": "1"}),
    ]
    for response in answers:
        assert (response.status_code, response.json()) == (200, NO_KEY_ANSWER), params
