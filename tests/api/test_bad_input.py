"""Bad input on every registered endpoint: an error envelope, never a 500, nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, select

import keyvend.app  # noqa: F401  (registers every endpoint)
from keyvend.api.registry import ENDPOINTS, Endpoint
from keyvend.db.unit_of_work import Database
from tests.conftest import Api

HUGE = "x" * 100_000
NESTED = {"nested": {"deeper": {"list": [1, {"x": None}], "more": {"a": "b"}}}}

# Required text fields get a plausible value, so that only the field under test is wrong.
TEXT_BASELINE = {
    "email": "new@example.com",
    "first_name": "New",
    "password": "new-pass-123",
    "title": "New product",
    "id": "serviceapikey",
}

# Texts of the right type that are hostile to databases and parsers: any answer but a crash.
HOSTILE_TEXTS = [
    "\x00",
    "a\x00b",
    "' OR '1'='1' --",
    "%",
    "_",
    "\\",
    "\u202e\u0000\ufeff",
    "\U0001f600" * 20,
    "   ",
    "1; DROP TABLE clients",
]

# JSON bodies that are not JSON objects, and forms whose PHP-style names do not make sense.
BAD_BODIES = [
    (b'{"id": ', "application/json"),
    (b"{'id': 1}", "application/json"),
    (b"[1, 2, 3]", "application/json"),
    (b'[{"id": 1}]', "application/json"),
    (b'"id"', "application/json"),
    (b"\xff\xfe{}", "application/json"),
    (b"a[b]=1&a=2", "application/x-www-form-urlencoded"),
    (b"a=2&a[b]=1", "application/x-www-form-urlencoded"),
    (b"a[]=1&a[b]=2", "application/x-www-form-urlencoded"),
    (b"a[b]=1&a[b][c]=2", "application/x-www-form-urlencoded"),
    (b"a[1][2][3][4][5]=1", "application/x-www-form-urlencoded"),
    (b"a[]x[b]=1", "application/x-www-form-urlencoded"),
    (b"a=\xff", "application/x-www-form-urlencoded"),
    ("&".join(f"f{i}=1" for i in range(1001)).encode(), "application/x-www-form-urlencoded"),
]


@dataclass(frozen=True)
class Field:
    """One parameter of an endpoint, as its JSON schema declares it."""

    name: str
    kind: str  # integer, string, boolean or object
    spec: dict[str, Any]
    required: bool
    nullable: bool


@dataclass
class World:
    """A database with a row in every table, and the credentials of every role."""

    api: Api
    db: Database
    customer: dict[str, Any]
    order: dict[str, Any]

    def auth(self, role: str) -> tuple[str, str] | None:
        if role == "admin":
            return ("admin", self.api.admin_token)
        if role == "client":
            return tuple(self.customer["auth"])  # type: ignore[return-value]
        return None


def fields_of(endpoint: Endpoint) -> list[Field]:
    schema = endpoint.params.model_json_schema()
    required = set(schema.get("required", []))
    found = []
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        (spec,) = [option for option in options if option.get("type") != "null"]
        nullable = len(options) > 1
        found.append(Field(name, spec["type"], spec, name in required, nullable))
    return found


def baseline(endpoint: Endpoint) -> dict[str, Any]:
    """Values for the required parameters: real ids, a plausible text, an empty config."""
    values: dict[str, Any] = {}
    for field in fields_of(endpoint):
        if not field.required:
            continue
        if field.kind == "integer":
            values[field.name] = 1
        elif field.kind == "string":
            values[field.name] = TEXT_BASELINE.get(field.name, "x")
        elif field.kind == "object":
            values[field.name] = {}
    return values


def wrong_values(field: Field) -> list[Any]:
    """Values every endpoint must refuse for this parameter."""
    values: list[Any] = [[], ["a", 1], {"a": 1}, NESTED]
    if not field.nullable:
        values.append(None)
    if field.kind == "integer":
        low, high = field.spec.get("minimum"), field.spec.get("maximum")
        values += ["abc", "", " ", 1.5, "1e3", "9" * 100_000, HUGE, 2**63, -(2**63), 10**40]
        values += [v for v in (0, -1) if low is not None and v < low]
        if high is not None:
            values.append(high + 1)
    elif field.kind == "string":
        values += [12345, 1.5, True, HUGE, "x" * (field.spec.get("maxLength", 99_999) + 1)]
        values += ["\x00", "a\x00b"]  # PostgreSQL text cannot hold NUL: refused everywhere
    elif field.kind == "boolean":
        values += ["maybe", 2, -1, 0.5, HUGE]
    elif field.kind == "object":
        values = [
            "text",
            HUGE,
            12,
            True,
            [1, 2],
            [{"a": 1}],
            NESTED,
            {"custom_big": HUGE},
            {HUGE: 1},
            {"custom_x": {"deep": [1, 2]}},
            {f"custom_k{i}": i for i in range(field.spec.get("maxProperties", 1000) + 1)},
        ]
        if not field.nullable:
            values.append(None)
    return values


def raw_wrong_values(field: Field) -> list[str]:
    """JSON texts Python's parser accepts but no parameter may: NaN, infinities."""
    texts = ["NaN", "Infinity", "-Infinity", "1e400"]
    if field.kind == "object":
        texts += ['{"custom_x": NaN}', '{"custom_x": Infinity}', '{"type": NaN}']
    return texts


class Dump:
    """Reads every row of every table, in primary-key order (tables reflected once)."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        metadata = MetaData()
        metadata.reflect(self.engine)
        self.queries = {
            name: select(table).order_by(*(table.primary_key.columns or table.columns))
            for name, table in sorted(metadata.tables.items())
        }

    def __call__(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.engine.connect() as connection:
            return {
                name: [tuple(row) for row in connection.execute(query) if not _security(name, row)]
                for name, query in self.queries.items()
            }


def _security(table: str, row: Any) -> bool:
    """A failed login is recorded as an event on purpose (the activity log): not a write
    of the refused input."""
    return table == "events" and str(row.type).endswith(".login_failed")


def assert_envelope(response: Any) -> dict[str, Any]:
    """Never a 500, never a stack trace, always the envelope."""
    assert response.status_code < 500, response.text[:500]
    assert "Traceback" not in response.text
    body = response.json()
    assert set(body) == {"result", "error"}, body
    if body["error"] is not None:
        assert body["result"] is None
        assert set(body["error"]) == {"message", "code"}
        assert isinstance(body["error"]["message"], str)
        assert isinstance(body["error"]["code"], int)
    return dict(body)


class Checker:
    """Sends calls and checks that failures leave the database as it was."""

    def __init__(self, world: World, endpoint: Endpoint) -> None:
        self.world = world
        self.endpoint = endpoint
        self.dump = Dump(world.db)
        self.before = self.dump()

    def send(
        self,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str = "application/json",
        query: str = "",
        method: str = "POST",
    ) -> dict[str, Any]:
        if json_body is not None:
            content = json.dumps(json_body).encode()
        path = self.endpoint.path + (f"?{query}" if query else "")
        response = self.world.api.client.request(
            method,
            path,
            content=content,
            headers={"content-type": content_type},
            auth=self.world.auth(self.endpoint.role),
        )
        return assert_envelope(response)

    def refused(self, label: str, **request: Any) -> dict[str, Any]:
        """The call must fail and write nothing."""
        body = self.send(**request)
        assert body["error"] is not None, (label, body)
        assert self.dump() == self.before, label
        return dict(body["error"])

    def survives(self, label: str, **request: Any) -> None:
        """Any answer but a crash; a failure must write nothing."""
        body = self.send(**request)
        after = self.dump()
        if body["error"] is not None:
            assert after == self.before, label
        self.before = after


@pytest.fixture
def world(
    api: Api,
    db: Database,
    customer: dict[str, Any],
    active_order: dict[str, Any],
    product_id: int,
) -> Iterator[World]:
    """Rows in every table: admin, client, product, order, key, cart, session."""
    api.ok("guest/cart/add_item", auth=customer["auth"], id=product_id)
    api.guest("cart/add_item", id=product_id)
    api.guest("client/login", email=customer["email"], password="jo-pass-123")
    api.client.cookies.clear()
    yield World(api, db, customer, active_order)


def refuse_malformed_bodies(checker: Checker) -> None:
    for content, content_type in BAD_BODIES:
        error = checker.refused(repr(content[:40]), content=content, content_type=content_type)
        assert error["code"] == 701, (content[:40], error)


def refuse_wrong_values(checker: Checker) -> None:
    base = baseline(checker.endpoint)
    for field in fields_of(checker.endpoint):
        for value in wrong_values(field):
            label = f"{field.name}={str(value)[:40]!r}"
            error = checker.refused(label, json_body={**base, field.name: value})
            assert error["code"] == 9999, (label, error)
            assert len(error["message"]) < 1000, label
        for text in raw_wrong_values(field):
            checker.refused(f"{field.name}={text}", content=raw_json(base, field.name, text))


def refuse_misshapen_forms_and_queries(checker: Checker) -> None:
    form = "application/x-www-form-urlencoded"
    for field in fields_of(checker.endpoint):
        name = field.name
        for text in (f"{name}[b]=1&{name}=2", f"{name}=2&{name}[]=1", f"{name}[a]b]=1&{name}=1"):
            checker.refused(text, content=text.encode(), content_type=form)
        if field.kind == "object":
            continue
        for text in (f"{name}[]=1", f"{name}[a]=1", f"{name}[a][b]=1"):
            checker.refused(text, content=text.encode(), content_type=form)
            checker.refused(text, query=text, method="GET")
        if field.kind == "integer":
            for number in ("0", "-1", str(2**63), "1.5", "0x10", ""):
                checker.refused(f"{name}={number}", query=f"{name}={number}", method="GET")


def survive_hostile_texts(checker: Checker) -> None:
    base = baseline(checker.endpoint)
    for field in fields_of(checker.endpoint):
        if field.kind == "string":
            values: list[Any] = HOSTILE_TEXTS
        elif field.kind == "object":
            values = [{"custom_x": text} for text in HOSTILE_TEXTS] + [{"\x00": 1}]
        else:
            continue
        for value in values:
            checker.survives(f"{field.name}={value!r}", json_body={**base, field.name: value})
        # A lone surrogate is valid JSON text but not valid Unicode.
        lone = raw_json(base, field.name, '"\\ud800"')
        checker.survives(f"{field.name}=lone surrogate", content=lone)


def raw_json(base: dict[str, Any], name: str, text: str) -> bytes:
    """`base` as a JSON object plus `"name": text`, where text is written as is."""
    return (json.dumps(base)[:-1] + (", " if base else "") + f'"{name}": {text}}}').encode()


@pytest.mark.parametrize("key", sorted(ENDPOINTS), ids="/".join)
def test_every_endpoint_answers_bad_input_with_an_error_envelope_and_writes_nothing(
    world: World, key: tuple[str, str, str]
) -> None:
    checker = Checker(world, ENDPOINTS[key])
    refuse_malformed_bodies(checker)
    refuse_wrong_values(checker)
    refuse_misshapen_forms_and_queries(checker)
    survive_hostile_texts(checker)


def test_the_endpoint_list_covers_every_role_and_module(world: World) -> None:
    roles = {key[0] for key in ENDPOINTS}
    modules = {key[1] for key in ENDPOINTS}
    assert roles == {"guest", "client", "admin"}
    assert {"product", "client", "order", "cart", "serviceapikey", "extension"} <= modules


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=20,
)

CONFIG_KEYS = st.sampled_from(
    ["length", "split", "split_interval", "case", "prefix", "custom_limit", "custom_", "x"]
) | st.text(max_size=20)

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(params=st.dictionaries(st.sampled_from(["key", "k", "id"]), JSON_VALUES, max_size=3))
def test_key_checks_answer_an_envelope_for_any_json_parameters(
    world: World, params: dict[str, Any]
) -> None:
    for method in ("check", "get_info"):
        response = world.api.client.post(f"/api/guest/serviceapikey/{method}", json=params)
        body = assert_envelope(response)
        if body["error"] is None:
            assert params.get("key") == world.order["key"]


@HYPOTHESIS
@given(config=st.dictionaries(CONFIG_KEYS, JSON_VALUES, max_size=6))
def test_product_config_updates_are_validated_for_any_json_config(
    world: World, config: dict[str, Any]
) -> None:
    api = world.api
    before = api.admin("product/get", id=1)["config"]
    response = api.client.post(
        "/api/admin/product/update_config",
        json={"id": 1, "config": config},
        auth=world.auth("admin"),
    )
    body = assert_envelope(response)
    after = api.admin("product/get", id=1)["config"]
    if body["error"] is not None:
        assert after == before
    else:
        assert 16 <= after["length"] <= 256
        assert after["case"] in ("upper", "lower", "mixed")
        api.admin("product/update_config", id=1, config=before)
