"""Issue #8, kept with tests: secrets never appear in logs, answers, ``/metrics`` or the store.

A real ``errorbudget serve`` (debug logs, JSON) collects from the fake Genesys Cloud API with
a client secret and serves API tokens from the config and from ``$ERRORBUDGET_TOKENS``;
requests succeed and fail (unknown tokens, a token in the wrong header, 403, 404, 422);
``errorbudget collect`` runs once with a wrong secret. None of the token values or the
client secret may then appear in the server's log, in any answer, in ``/metrics``, in the
CLI's output or anywhere in the store's files.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

pytest.importorskip("uvicorn")

from serving import serving

from errorbudget.simulate.clock import SimClock
from errorbudget.simulate.default_scenario import default_scenario
from errorbudget.simulate.engine import Simulation
from errorbudget.simulate.genesys_api import ApiSettings
from errorbudget.simulate.server import FakeGenesysServer
from errorbudget.store import open_store

pytestmark = pytest.mark.integration

CLIENT_SECRET = "genesys-client-secret-Zq81vP"
VIEWER = "viewer-token-secret-Kx72"
OPERATOR = "operator-token-secret-Jw55"
ENV_ADMIN = "admin-token-from-env-Pm19"
WRONG = "wrong-token-value-Yt40aa"
SECRETS = (CLIENT_SECRET, VIEWER, OPERATOR, ENV_ADMIN, WRONG)


def config_text(url: str) -> str:
    return f"""\
version: 1
store: {{path: eb.db}}
server:
  metrics_auth: token
  tokens:
    - {{name: vic, token: "${{VIEWER_TOKEN}}", role: viewer}}
    - {{name: olga, token: {OPERATOR}, role: operator}}
sources:
  genesys:
    base_url: {url}
    client_id: errorbudget-sim
    client_secret: ${{GENESYS_SECRET}}
    interval: 1s
    collect_deadline: 3s
slos:
  - id: queue-sl
    service: contact-center
    target: 0.8
    window: {{type: rolling, length: 7d}}
    indicator: {{source: genesys, metric: voice_sla, media_types: [voice]}}
    segments: {{keys: [queue_id, media_type]}}
  - id: api
    service: contact-center
    target: 0.999
    window: {{type: rolling, length: 7d}}
    indicator: {{source: genesys, metric: api_availability}}
"""


def test_secrets_appear_in_no_log_answer_metric_or_store_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIEWER_TOKEN", VIEWER)
    monkeypatch.setenv("GENESYS_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("ERRORBUDGET_TOKENS", f"root:admin:{ENV_ADMIN}")
    now = datetime.now(tz=UTC)
    simulation = Simulation(default_scenario(now), seed=3)
    settings = ApiSettings(client_secret=CLIENT_SECRET, rate_limit_per_minute=6000)
    fake = FakeGenesysServer(simulation, SimClock(now, speed=1.0), None, settings).start()
    answers: list[str] = []
    try:
        config = tmp_path / "errorbudget.yaml"
        config.write_text(config_text(fake.base_url), encoding="utf-8")
        with (
            serving(config, "--log-level", "debug") as served,
            httpx.Client(base_url=served.url, timeout=30) as client,
        ):
            viewer = {"Authorization": f"Bearer {VIEWER}"}
            operator = {"Authorization": f"Bearer {OPERATOR}"}
            admin = {"Authorization": f"Bearer {ENV_ADMIN}"}
            deadline = datetime.now(tz=UTC).timestamp() + 30
            while (
                "errorbudget_source_last_success" not in client.get("/metrics", headers=viewer).text
            ):  # the collector has run once, successfully
                assert datetime.now(tz=UTC).timestamp() < deadline, served.log_text()
                time.sleep(0.2)
            requests = [
                ("GET", "/api/v1/whoami", viewer, None),
                ("GET", "/api/v1/whoami", admin, None),
                ("GET", "/api/v1/status", viewer, None),
                ("GET", "/api/v1/slos", viewer, None),
                ("GET", "/metrics", viewer, None),
                ("GET", "/metrics", {}, None),
                ("GET", "/readyz", {}, None),
                ("GET", "/openapi.json", {}, None),
                ("GET", "/api/v1/pages/overview", viewer, None),
                ("GET", "/", {"Cookie": f"errorbudget_token={VIEWER}"}, None),
                ("GET", "/api/v1/status", {"Authorization": f"Bearer {WRONG}"}, None),
                ("GET", "/api/v1/status", {"Authorization": WRONG}, None),
                ("GET", "/", {"Cookie": f"errorbudget_token={WRONG}"}, None),
                ("POST", "/api/v1/changes", {"Authorization": f"Bearer {WRONG}"}, {}),
                ("POST", "/api/v1/changes", viewer, {"service": "contact-center"}),
                ("POST", "/api/v1/changes", operator, {"service": "nope", "title": "t"}),
                ("POST", "/api/v1/gate/decide", operator, {"service": "contact-center"}),
                ("GET", "/api/v1/slos/nope", viewer, None),
                ("GET", "/api/v1/gate/decisions", admin, None),
            ]
            for method, path, headers, body in requests:
                answer = client.request(method, path, headers=headers, json=body)
                answers.append(f"{method} {path} {answer.status_code} {answer.headers} "
                               f"{answer.text}")  # fmt: skip
        log = served.log_text()
        monkeypatch.setenv("GENESYS_SECRET", CLIENT_SECRET + "-but-wrong")
        wrong = subprocess.run(
            [sys.executable, "-m", "errorbudget", "collect", "-c", str(config), "--once",
             "--deadline", "5s"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        fake.stop()
    assert wrong.returncode == 1 and "401" in wrong.stderr, wrong.stderr  # it did fail
    assert "job started" in log and "genesys" in log  # the log is the collector's too
    store_bytes = b"".join(
        path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("eb.db")
    )
    with open_store(tmp_path / "eb.db") as store:  # the collector wrote to this store
        [health] = store.source_health()
        assert health.runs >= 2 and health.last_success_at is not None
    for secret in (*SECRETS, CLIENT_SECRET + "-but-wrong"):
        assert secret not in log, f"{secret} in the server log"
        for answer in answers:
            assert secret not in answer, f"{secret} in {answer[:80]}"
        assert secret not in wrong.stdout + wrong.stderr, f"{secret} in collect's output"
        assert secret.encode() not in store_bytes, f"{secret} in the store"
