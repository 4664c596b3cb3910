"""The CLI end to end on a real SQLite file: ingest, status, exclusions, gate, audit."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from errorbudget.app import App
from errorbudget.cli.main import main
from errorbudget.store import open_store

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = """\
version: 1
clock: {simulated_start: '2026-11-20T12:00:00Z'}   # "now" for every command: AT
store: {path: budgets.db}
services:
  - {id: cc, owner: cc-ops}
slos:
  - id: voice
    service: cc
    target: 0.9
    window: {type: rolling, length: 7d}
    segments:
      keys: [tier]
      overrides: [{match: {tier: vip}, target: 0.95}]
    policy: voice-agent   # exhausted blocks (exit 12); contact-center would ask for approval
"""


def hourly_rows(tier: str, total: int, good: int) -> list[str]:
    start = AT - timedelta(days=7)
    return [
        f"{(start + timedelta(hours=i)).isoformat()},voice,{good},{total},{tier}"
        for i in range(7 * 24)
    ]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "errorbudget.yaml").write_text(CONFIG, encoding="utf-8")
    rows = ["time,slo,good,total,tier"]
    rows += hourly_rows("standard", 600, 597)  # 0.5 % bad against 10 % allowed: 5 % consumed
    rows += hourly_rows("vip", 100, 94)  # 6 % bad against 5 % allowed: 120 % consumed
    (tmp_path / "counts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return tmp_path


def run(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, [*args], env={"ERRORBUDGET_CONFIG": str(project / "errorbudget.yaml")}
    )
    return result.exit_code, result.output


def status_json(project: Path) -> dict[str, dict[str, object]]:
    code, out = run(project, "status", "--at", AT.isoformat(), "--format", "json")
    assert code == 0, out
    return {
        ",".join(f"{k}={v}" for k, v in row["segment"].items()) or "all": row
        for row in json.loads(out)
    }


def test_ingest_status_exclusions_gate(project: Path) -> None:
    code, out = run(project, "ingest", str(project / "counts.csv"))
    assert code == 0, out

    rows = status_json(project)
    standard, vip, whole = rows["tier=standard"], rows["tier=vip"], rows["all"]
    assert standard["eligible"] == 168 * 600
    assert standard["bad"] == 168 * 3
    assert standard["budget_total"] == pytest.approx(0.1 * 168 * 600)
    assert standard["budget_remaining_ratio"] == pytest.approx(0.95)
    assert standard["burn_rates"]["1h"] == pytest.approx(0.05)  # type: ignore[index]
    assert standard["state"] == "healthy"
    assert vip["target"] == 0.95
    assert vip["budget_remaining_ratio"] == pytest.approx(-0.2)
    assert vip["state"] == "exhausted"
    assert whole["eligible"] == 168 * 700
    # The whole SLO may spend the sum of its segments' budgets: 10 % of standard + 5 % of VIP.
    assert whole["budget_total"] == pytest.approx(0.1 * 168 * 600 + 0.05 * 168 * 100)
    assert whole["target"] == 0.9  # as configured, never a traffic-weighted blend
    assert whole["effective_target"] == pytest.approx(1 - (0.1 * 600 + 0.05 * 100) / 700)
    assert whole["meets_target"] is False  # VIP misses its own 95 %
    assert whole["series_missing_target"] == 1
    for key in (
        "slo",
        "service",
        "segment",
        "target",
        "window",
        "eligible",
        "good",
        "bad",
        "sli",
        "budget_total",
        "budget_consumed",
        "budget_remaining_ratio",
        "burn_rates",
        "period_burn_rate",
        "time_to_exhaustion_seconds",
        "projected_consumed_ratio",
        "state",
        "alerts",
    ):
        assert key in standard

    # Re-ingesting the same file changes nothing.
    assert run(project, "ingest", str(project / "counts.csv"))[0] == 0
    assert status_json(project)["tier=standard"]["eligible"] == 168 * 600

    at = AT.isoformat()
    code, out = run(project, "gate", "--service", "cc", "--format", "json")
    assert code == 12, out
    assert json.loads(out)["decision"] == "blocked"
    code, _ = run(project, "gate", "--service", "cc", "--type", "incident-fix")
    assert code == 0
    code, _ = run(project, "gate", "--service", "cc", "--segment", "tier=standard")
    assert code == 0

    # Excluding the whole VIP window: a proposal first, which changes nothing by itself.
    code, out = run(
        project,
        "exclusions",
        "propose",
        "--slo",
        "voice",
        "--segment",
        "tier=vip",
        "--start",
        (AT - timedelta(days=8)).isoformat(),
        "--end",
        at,
        "--category",
        "external-outage",
        "--reason",
        "carrier incident",
        "--author",
        "ana",
        "--format",
        "json",
    )
    assert code == 0, out
    proposed = json.loads(out)
    assert (proposed["status"], proposed["proposed_by"], proposed["counted"]) == (
        "pending", "ana", False,
    )  # fmt: skip
    exclusion_id = proposed["id"]
    assert status_json(project)["tier=vip"]["state"] == "exhausted"
    code, _ = run(project, "gate", "--service", "cc", "--segment", "tier=vip")
    assert code == 12  # the operator's own proposal does not lift the gate

    # An approver approves it (through the API, as a named token; here its App call), and
    # the whole VIP window has no data left (raw counts stay).
    with App.open(project / "errorbudget.yaml") as app:
        app.records.review_exclusion(
            exclusion_id, decision="approve", reviewer="vera", role="approver"
        )
    vip = status_json(project)["tier=vip"]
    assert vip["state"] == "no_data"
    assert vip["sli"] is None
    assert vip["raw_total"] == 168 * 100
    assert vip["excluded"] == 168 * 100
    code, _ = run(project, "gate", "--service", "cc", "--segment", "tier=vip")
    assert code == 0

    code, out = run(project, "exclusions", "revoke", str(exclusion_id), "--author", "bo")
    assert code == 0, out
    assert status_json(project)["tier=vip"]["state"] == "exhausted"
    code, out = run(project, "exclusions", "list", "--all", "--format", "json")
    [listed] = json.loads(out)
    assert (listed["revoked_by"], listed["approved_by"], listed["status"]) == (
        "bo", "vera", "revoked",
    )  # fmt: skip

    with open_store(project / "budgets.db") as store:
        actions = [entry.action for entry in store.audit_log(limit=50)]
    assert {"exclusion.propose", "exclusion.approve", "exclusion.revoke"} <= set(actions)
    assert actions.count("gate.decision") == 5
    code, out = run(project, "audit", "verify")
    assert code == 0 and out.startswith("audit chain verified"), out


def test_table_and_csv_formats(project: Path) -> None:
    assert run(project, "ingest", str(project / "counts.csv"))[0] == 0
    code, out = run(project, "status", "--at", AT.isoformat())
    assert code == 0
    assert "tier=vip" in out and "exhausted" in out and "healthy" in out
    code, out = run(project, "status", "--at", AT.isoformat(), "--format", "csv")
    assert code == 0
    header, *lines = out.strip().splitlines()
    assert header.startswith("slo,service,segment,target")
    assert len(lines) == 3


def test_errors_are_one_sentence_and_exit_1(project: Path) -> None:
    code, out = run(project, "status", "--slo", "voce")
    assert code == 1
    assert "voce" in out and "voice" in out  # did you mean
    code, out = run(project, "gate", "--service", "nope")
    assert code == 1
    assert "no SLO in scope" in out
    code, out = run(project, "exclusions", "revoke", "999")
    assert code == 1


def test_console_script_runs(project: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "errorbudget",
            "status",
            "-c",
            str(project / "errorbudget.yaml"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row["state"] == "insufficient_data"  # nothing stored yet
    assert row["data"]["note"] == "insufficient data (0 of 10,080 minutes)"


def test_gate_review_and_approval_exit_codes(project: Path) -> None:
    start = AT - timedelta(days=7)
    rows = ["time,slo,good,total,tier"]
    for i in range(7 * 24):
        hour = (start + timedelta(hours=i)).isoformat()
        rows.append(f"{hour},voice,{600 - 42},600,mid")  # 7 % bad of 10 %: 70 % consumed
        bad = 120 if i >= 7 * 24 - 6 else 54  # 9 % bad, then 20 % for the last 6 hours
        rows.append(f"{hour},voice,{600 - bad},600,low")
    (project / "states.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert run(project, "ingest", str(project / "states.csv"))[0] == 0
    rows_by_tier = status_json(project)
    assert rows_by_tier["tier=mid"]["state"] == "watch"
    assert rows_by_tier["tier=low"]["state"] == "freeze"
    # judged now: the config's clock holds "now" at AT (with --at it is a what-if: exit 6)
    code, out = run(project, "gate", "--service", "cc", "--segment", "tier=mid")
    assert code == 10, out  # review
    code, _ = run(project, "gate", "--service", "cc", "--segment", "tier=mid", "--risk", "low")
    assert code == 0
    code, out = run(project, "gate", "--service", "cc", "--segment", "tier=low", "--format", "json")
    assert code == 11, out  # approval required
    decision = json.loads(out)
    assert decision["decision"] == "approval_required"
    assert "VP-level" in decision["reasons"][0]


def test_advisory_enforcement_always_exits_0(project: Path) -> None:
    config = project / "errorbudget.yaml"
    config.write_text(
        CONFIG.replace("version: 1\n", "version: 1\ngate: {enforcement: advisory}\n"),
        encoding="utf-8",
    )
    assert run(project, "ingest", str(project / "counts.csv"))[0] == 0
    code, out = run(project, "gate", "--service", "cc", "--format", "json")
    assert code == 0
    assert json.loads(out)["decision"] == "blocked"


def test_exclusion_with_an_unknown_segment_key_is_refused(project: Path) -> None:
    code, out = run(
        project,
        "exclusions",
        "propose",
        "--slo",
        "voice",
        "--segment",
        "teir=vip",
        "--start",
        "2026-11-19T19:00Z",
        "--end",
        "2026-11-19T20:00Z",
        "--category",
        "maintenance",
        "--reason",
        "typo",
    )
    assert code == 1
    assert "teir" in out and "did you mean 'tier'" in out
    code, out = run(
        project,
        "exclusions",
        "propose",
        "--slo",
        "voice",
        "--segment",
        "tier=vpi",
        "--start",
        "2026-11-19T19:00Z",
        "--end",
        "2026-11-19T20:00Z",
        "--category",
        "maintenance",
        "--reason",
        "no data yet",
    )
    assert code == 0
    assert "warning: no stored series matches" in out
