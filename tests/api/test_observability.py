"""The operator's view (DESIGN.md section 13): /healthz, /readyz and /metrics."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import text
from starlette.testclient import TestClient
from typer.testing import CliRunner

from keyvend import cli, worker
from keyvend.app import build_database, create_app
from keyvend.config import Settings
from keyvend.db.unit_of_work import Database
from keyvend.observability import health, metrics
from keyvend.observability.metrics import MULTIPROC_ENV
from tests.api.test_outage import UNREACHABLE
from tests.conftest import SECRET, Api
from tests.support.live_server import free_port

MakeClient = Callable[..., TestClient]
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def make_client(settings: Settings, db: Database) -> Iterator[MakeClient]:
    """Clients of apps on the test's database; keyword args override settings."""
    opened: list[TestClient] = []

    def make(ip: str = "203.0.113.7", **overrides: Any) -> TestClient:
        app = create_app(settings.model_copy(update=overrides), database=db)
        opened.append(TestClient(app, client=(ip, 40000)))
        return opened[-1]

    yield make
    for test_client in opened:
        test_client.close()


def unreachable_app(backend: str, tmp_path: Path) -> TestClient:
    url = UNREACHABLE[backend].format(tmp=tmp_path)
    settings = Settings(data_dir=tmp_path, database_url=url, secret_key=SECRET)
    return TestClient(create_app(settings, database=build_database(settings)))


def sample(client: TestClient, name: str, **labels: str) -> float:
    """One value of the /metrics answer (0 when the series is not there yet)."""
    return sample_of(client.get("/metrics").text, name, **labels)


def sample_of(exposition: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for point in family.samples:
            if point.name == name and all(point.labels.get(k) == v for k, v in labels.items()):
                return float(point.value)
    return 0.0


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
def test_healthz_answers_without_touching_the_database(backend: str, tmp_path: Path) -> None:
    response = unreachable_app(backend, tmp_path).get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_ready_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "redis": "not configured"}
    assert response.headers["cache-control"] == "no-store"


def test_readyz_is_not_ready_before_the_migrations_ran(settings: Settings) -> None:
    database = build_database(settings)
    try:
        response = TestClient(create_app(settings, database=database)).get("/readyz")
    finally:
        database.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["database"].startswith("not migrated (at none, head ")


def test_readyz_is_not_ready_when_the_database_is_behind_the_code(
    make_client: MakeClient, db: Database
) -> None:
    def set_version(version: str) -> str:
        with db.engine.begin() as connection:
            was = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
        return str(was)

    head = set_version("older")
    try:
        body = make_client().get("/readyz").json()
    finally:
        set_version(head)  # the worker's PostgreSQL schema is reused by the next test
    assert body["database"] == f"not migrated (at older, head {head})"


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
def test_readyz_names_the_database_when_it_is_down(backend: str, tmp_path: Path) -> None:
    response = unreachable_app(backend, tmp_path).get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "database": "unreachable",
        "redis": "not configured",
    }


def test_readyz_answers_in_time_when_the_database_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "DATABASE_WAIT_SECONDS", 0.2)
    with socket.socket() as silent:  # takes connections into its backlog, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/test"
        settings = Settings(data_dir=tmp_path, database_url=url, secret_key=SECRET)
        response = TestClient(create_app(settings, database=build_database(settings))).get(
            "/readyz"
        )
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "database": "no answer",
        "redis": "not configured",
    }


def test_readyz_reports_redis_up_and_down_without_going_unready(
    make_client: MakeClient,
) -> None:
    up = make_client(redis_url="redis://127.0.0.1:6379/0").get("/readyz")
    down = make_client(redis_url=UNREACHABLE_REDIS).get("/readyz")
    assert (up.status_code, up.json()["redis"]) == (200, "ok")
    assert (down.status_code, down.json()) == (
        200,
        {"status": "ready", "database": "ok", "redis": "down"},
    )


def test_checks_are_counted_by_outcome_with_their_latency(
    api: Api, active_order: dict[str, Any]
) -> None:
    client = api.client
    before = {o: sample(client, "keyvend_key_checks_total", outcome=o) for o in metrics.OUTCOMES}
    timed = sample(client, "keyvend_key_check_seconds_count")
    # Form bodies: the general dispatcher's lane (the fast lane counts in hot_path.py).
    check = "/api/guest/serviceapikey/check"
    client.post(check, data={"key": active_order["key"]})
    client.post("/api/guest/serviceapikey/get_info", data={"key": active_order["key"]})
    client.post(check, data={"key": "NOT-A-KEY"})
    api.admin("order/suspend", id=active_order["id"])
    client.post(check, data={"key": active_order["key"]})
    after = {o: sample(client, "keyvend_key_checks_total", outcome=o) for o in metrics.OUTCOMES}
    assert {o: after[o] - before[o] for o in metrics.OUTCOMES} == {
        "valid": 2,
        "invalid": 1,
        "not_found": 1,
        "refused": 0,
        "error": 0,
    }
    assert sample(client, "keyvend_key_check_seconds_count") == timed + 4


def test_check_outcomes_name_every_way_a_check_can_end() -> None:
    from keyvend.domain.errors import InvalidInput, ModuleInactive, NotFound, RateLimited

    assert metrics.check_outcome(True) == "valid"
    assert metrics.check_outcome(False) == "invalid"
    assert metrics.failure_outcome(NotFound("x")) == "not_found"
    assert metrics.failure_outcome(InvalidInput("x")) == "not_found"
    assert metrics.failure_outcome(RateLimited(30)) == "refused"
    assert metrics.failure_outcome(ModuleInactive("serviceapikey")) == "error"
    assert metrics.failure_outcome(RuntimeError("boom")) == "error"


def test_a_429_counts_as_a_refusal_of_its_policy(make_client: MakeClient) -> None:
    client = make_client(rate_limit_enabled=True, rate_limit_guest="2/minute")
    before = sample(client, "keyvend_rate_limit_refusals_total", policy="guest")
    statuses = [client.post("/api/guest/product/get_list").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert sample(client, "keyvend_rate_limit_refusals_total", policy="guest") == before + 1


def test_api_calls_are_counted_by_endpoint_and_status_class(make_client: MakeClient) -> None:
    client = make_client()
    labels = {"role": "guest", "module": "product", "method": "get_list", "status_class": "2xx"}
    before = sample(client, "keyvend_api_calls_total", **labels)
    unknown = sample(client, "keyvend_api_calls_total", module="unknown", status_class="4xx")
    client.post("/api/guest/product/get_list")
    client.post("/api/guest/made-up-module/whatever")
    assert sample(client, "keyvend_api_calls_total", **labels) == before + 1
    # Names from the URL that are not endpoints never become label values.
    after = client.get("/metrics").text
    assert "made-up-module" not in after
    assert sample_of(after, "keyvend_api_calls_total", module="unknown") == unknown + 1


def test_metrics_need_the_bearer_token_when_one_is_set(make_client: MakeClient) -> None:
    open_client = make_client()
    guarded = make_client(metrics_token=SecretStr("scrape-token-123"))
    assert open_client.get("/metrics").status_code == 200
    assert guarded.get("/metrics").status_code == 401
    wrong = {"Authorization": "Bearer scrape-token-12"}
    assert guarded.get("/metrics", headers=wrong).status_code == 401
    basic = {"Authorization": "Basic scrape-token-123"}
    assert guarded.get("/metrics", headers=basic).status_code == 401
    right = guarded.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
    assert right.status_code == 200
    assert "keyvend_key_checks_total" in right.text
    assert right.headers["content-type"].startswith("text/plain")


def test_operator_endpoints_are_never_rate_limited(make_client: MakeClient) -> None:
    client = make_client(rate_limit_enabled=True, rate_limit_guest="1/minute")
    statuses = {client.get(path).status_code for path in ("/healthz", "/readyz", "/metrics") * 3}
    assert statuses == {200}


RECORD_A_CHECK = (
    "from keyvend.observability.metrics import record_check; record_check('valid', 0.0002)"
)
SCRAPE = """
import sys
from starlette.testclient import TestClient
from keyvend.app import create_app
from keyvend.config import Settings
settings = Settings(data_dir=sys.argv[1], secret_key=sys.argv[2])
sys.stdout.write(TestClient(create_app(settings)).get("/metrics").text)
"""


def in_a_worker_process(code: str, directory: Path, *args: str) -> str:
    """Run `code` in a Python process of its own, as a uvicorn worker is, in multiprocess mode
    (chosen when prometheus-client is imported, so never in this test process)."""
    env = {**os.environ, MULTIPROC_ENV: str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_metrics_add_up_what_several_worker_processes_recorded(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    in_a_worker_process(RECORD_A_CHECK, directory)
    in_a_worker_process(RECORD_A_CHECK, directory)
    answer = in_a_worker_process(SCRAPE, directory, str(tmp_path), SECRET)
    assert sample_of(answer, "keyvend_key_checks_total", outcome="valid") == 2
    assert sample_of(answer, "keyvend_key_checks_total", outcome="not_found") == 0
    assert sample_of(answer, "keyvend_key_check_seconds_bucket", le="0.00025") == 2
    assert sample_of(answer, "keyvend_key_check_seconds_count") == 2


def test_a_process_started_without_the_folder_reports_only_itself(
    make_client: MakeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    in_a_worker_process(RECORD_A_CHECK, directory)
    in_a_worker_process(RECORD_A_CHECK, directory)
    monkeypatch.setenv(MULTIPROC_ENV, str(directory))  # too late for prometheus-client
    client = make_client()
    before = sample(client, "keyvend_key_checks_total", outcome="valid")
    metrics.record_check("valid", 0.0002)
    assert sample(client, "keyvend_key_checks_total", outcome="valid") == before + 1


def test_serve_gives_the_workers_a_fresh_metrics_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYVEND_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KEYVEND_SECRET_KEY", SECRET)
    monkeypatch.setenv("KEYVEND_PORT", str(free_port()))
    monkeypatch.delenv("KEYVEND_DATABASE_URL", raising=False)
    monkeypatch.setenv(MULTIPROC_ENV, "left-over")  # restored after the test
    folders: list[str] = []

    def no_exec(path: str, argv: list[str]) -> None:
        folders.append(os.environ[MULTIPROC_ENV])

    monkeypatch.setattr(cli.os, "execv", no_exec)
    for _ in range(2):
        result = CliRunner().invoke(cli.app, ["serve", "--json"])
        assert result.exit_code == 0, result.output
    assert len(set(folders)) == 2 and "left-over" not in folders
    for folder in folders:
        assert Path(folder).is_dir() and list(Path(folder).iterdir()) == []
        assert Path(folder).stat().st_mode & 0o777 == 0o700
        Path(folder).rmdir()


def test_fast_lane_checks_are_counted_too(api: Api, active_order: dict[str, Any]) -> None:
    client = api.client
    before = {o: sample(client, "keyvend_key_checks_total", outcome=o) for o in metrics.OUTCOMES}
    timed = sample(client, "keyvend_key_check_seconds_count")
    check = "/api/guest/serviceapikey/check"
    client.post(check, json={"key": active_order["key"]})  # JSON: the fast lane
    client.get(f"/api/guest/serviceapikey/get_info?key={active_order['key']}")
    client.post(check, json={"key": "NOT-A-KEY"})
    after = {o: sample(client, "keyvend_key_checks_total", outcome=o) for o in metrics.OUTCOMES}
    grown = {o: after[o] - before[o] for o in metrics.OUTCOMES}
    assert grown == {**dict.fromkeys(metrics.OUTCOMES, 0.0), "valid": 2.0, "not_found": 1.0}
    assert sample(client, "keyvend_key_check_seconds_count") - timed == 3


def test_metrics_show_the_outbox_depth_by_status(api: Api) -> None:
    client = api.client
    assert sample(client, "keyvend_outbox_emails", status="queued") == 0
    api.admin("client/create", email="ana@example.com", first_name="Ana")  # a sign-up mail
    assert sample(client, "keyvend_outbox_emails", status="queued") == 1
    assert sample(client, "keyvend_outbox_emails", status="failed") == 0


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
def test_metrics_answer_without_the_outbox_when_the_database_is_down(
    backend: str, tmp_path: Path
) -> None:
    answer = unreachable_app(backend, tmp_path).get("/metrics")
    assert answer.status_code == 200
    assert "keyvend_outbox_emails{" not in answer.text
    assert "keyvend_key_checks_total" in answer.text


def test_metrics_count_the_background_jobs_and_what_they_did(
    api: Api, settings: Settings, db: Database, clock: Any, tmp_path: Path
) -> None:
    client = api.client
    ok = sample(client, "keyvend_job_runs_total", result="ok")
    tidied = sample(client, "keyvend_job_items_total", job="deleted_sessions")
    login = {"email": "root@example.com", "password": "admin-pass-1"}  # the `api` fixture's
    assert client.post("/api/guest/staff/login", json=login).status_code == 200
    clock.advance(days=settings.session_ttl_hours / 24 + 1)
    assert worker.Worker(db, settings).run_once() is not None
    assert sample(client, "keyvend_job_runs_total", result="ok") == ok + 1
    assert sample(client, "keyvend_job_items_total", job="deleted_sessions") == tidied + 1
    failed = sample(client, "keyvend_job_runs_total", result="failed")
    url = UNREACHABLE["sqlite"].format(tmp=tmp_path)
    broken = Settings(data_dir=tmp_path, database_url=url, secret_key=SECRET)
    assert worker.Worker(build_database(broken), broken).run_once() is None
    assert sample(client, "keyvend_job_runs_total", result="failed") == failed + 1
