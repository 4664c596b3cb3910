"""Notifiers against loopback receivers (Slack, PagerDuty, webhook payloads; HMAC verifies)
and the delivery worker: a receiver down five minutes gets everything once, in order; a
permanent failure is given up after one attempt; one receiver never blocks another."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fake_receiver import FakeReceiver

from errorbudget.alert_records import NewNotification, Notification
from errorbudget.errors import DeliveryError
from errorbudget.logs import configure
from errorbudget.notification_settings import ReceiverTarget, RetrySettings
from errorbudget.notify import build_notifiers
from errorbudget.notify.webhook import verify_signature
from errorbudget.services.deliveries import DeliveryWorker
from memory_outbox import MemoryOutbox

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

PAYLOAD = {
    "event": "firing",
    "labels": {"alertname": "ErrorBudgetBurn", "slo": "answered", "service": "contact-center",
               "severity": "page", "queue": "vip"},
    "summary": "answered queue=vip burns 15.0× over 1h and 16.0× over 5m",
    "details": {
        "budget_remaining_ratio": 0.42,
        "time_to_exhaustion_seconds": 12000,
        "conditions": [{"name": "page-1h-5m", "long_window": "1h", "short_window": "5m",
                        "long_burn_rate": 15.0, "short_burn_rate": 16.0, "holds": True}],
    },
    "runbook_url": "http://127.0.0.1:1/runbooks/answered",
    "dashboard_url": "http://127.0.0.1:2/slos/answered",
    "fired_at": T0.isoformat(),
    "resolved_at": None,
}  # fmt: skip


def notification(receiver: str, event: str = "firing", number: int = 1) -> Notification:
    payload = dict(PAYLOAD, event=event)
    if event == "resolved":
        payload["resolved_at"] = (T0 + timedelta(minutes=30)).isoformat()
    return Notification(
        id=number,
        receiver=receiver,
        fingerprint="abc",
        event=event,  # type: ignore[arg-type]
        dedup_key="abc-1",
        payload=payload,
        created_at=T0,
    )


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    fake = FakeReceiver().start()
    yield fake
    fake.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as shared:
        yield shared


def target(kind: str, url: str, **secrets: object) -> ReceiverTarget:
    return ReceiverTarget(name=kind, type=kind, url=url, timeout=timedelta(seconds=5), **secrets)  # type: ignore[arg-type]


def test_slack_gets_block_kit(receiver: FakeReceiver, client: httpx.Client) -> None:
    notifier = build_notifiers({"s": target("slack", receiver.url + "/hook")}, client)["s"]
    notifier.send(notification("s"))
    notifier.send(notification("s", "resolved"))
    firing, resolved = (json.loads(r.body) for r in receiver.received)
    header, summary, fields, actions = firing["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert "FIRING" in header["text"]["text"] and "PAGE" in header["text"]["text"]
    assert "answered queue=vip" in header["text"]["text"]
    assert summary["text"]["text"] == PAYLOAD["summary"]
    texts = [f["text"] for f in fields["fields"]]
    assert texts == [
        "*Burn rate 1h*\n15.0×", "*Burn rate 5m*\n16.0×",
        "*Budget remaining*\n42.0 %", "*Time to exhaustion*\n3h 20m",
    ]  # fmt: skip
    assert [(b["text"]["text"], b["url"]) for b in actions["elements"]] == [
        ("Runbook", PAYLOAD["runbook_url"]),
        ("Dashboard", PAYLOAD["dashboard_url"]),
    ]
    assert firing["text"].startswith("FIRING page answered")
    assert "RESOLVED" in resolved["blocks"][0]["text"]["text"]
    assert "resolved 2026-03-02 09:30 UTC" in resolved["blocks"][2]["elements"][0]["text"]


def test_pagerduty_triggers_and_resolves_with_the_dedup_key(
    receiver: FakeReceiver, client: httpx.Client
) -> None:
    receiver.status, receiver.reply = 202, b'{"status":"success"}'
    pd = target("pagerduty", receiver.url + "/v2/enqueue", routing_key="rk-1")
    notifier = build_notifiers({"pd": pd}, client)["pd"]
    notifier.send(notification("pd"))
    notifier.send(notification("pd", "resolved"))
    trigger, resolve = (json.loads(r.body) for r in receiver.received)
    assert receiver.received[0].path == "/v2/enqueue"
    assert (trigger["routing_key"], trigger["event_action"], trigger["dedup_key"]) == (
        "rk-1", "trigger", "abc-1",
    )  # fmt: skip
    body = trigger["payload"]
    assert {"summary", "source", "severity"} <= set(body)
    assert (body["severity"], body["source"], body["component"]) == (
        "critical", "contact-center", "answered",
    )  # fmt: skip
    assert body["custom_details"]["budget_remaining_ratio"] == 0.42
    assert [link["text"] for link in trigger["links"]] == ["Dashboard", "Runbook"]
    assert resolve == {"routing_key": "rk-1", "event_action": "resolve", "dedup_key": "abc-1"}
    labels = {**PAYLOAD["labels"], "severity": "ticket"}  # type: ignore[dict-item]
    ticket = replace(notification("pd"), dedup_key="abc-2", payload=dict(PAYLOAD, labels=labels))
    notifier.send(ticket)
    assert json.loads(receiver.received[2].body)["payload"]["severity"] == "warning"


def test_the_webhook_is_signed_and_the_signature_verifies(
    receiver: FakeReceiver, client: httpx.Client
) -> None:
    secret = b"shared-secret"
    hook = target("webhook", receiver.url + "/in", secret=secret)
    build_notifiers({"h": hook}, client)["h"].send(notification("h"))
    (request,) = receiver.received
    headers = {k.lower(): v for k, v in request.headers.items()}
    stamp = headers["x-errorbudget-timestamp"]
    expected = hmac.new(secret, stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert headers["x-errorbudget-signature"] == f"sha256={expected}"
    assert headers["x-errorbudget-dedup-key"] == "abc-1"
    note = notification("h")
    assert headers["idempotency-key"] == f"eb-{note.id}"  # the same on every attempt
    build_notifiers({"h": hook}, client)["h"].send(replace(note, id=note.id + 1))
    assert receiver.received[1].headers["Idempotency-Key"] == f"eb-{note.id + 1}"
    assert abs(int(stamp) - datetime.now(tz=UTC).timestamp()) < 60
    body = json.loads(request.body)
    assert (body["event"], body["dedup_key"], body["labels"]["queue"]) == ("firing", "abc-1", "vip")
    now = float(stamp)
    sig = headers["x-errorbudget-signature"]
    assert verify_signature(
        secret, timestamp=stamp, body=request.body, signature_header=sig, now=now
    )
    assert not verify_signature(secret, timestamp=stamp, body=request.body + b" ",
                                signature_header=sig, now=now)  # fmt: skip
    assert not verify_signature(secret, timestamp=stamp, body=request.body,
                                signature_header=sig, now=now + 301)  # fmt: skip


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (404, False), (408, True), (429, True), (503, True)]
)
def test_statuses_map_to_retryable_or_permanent(
    receiver: FakeReceiver, client: httpx.Client, status: int, retryable: bool
) -> None:
    receiver.status, receiver.reply = status, b"invalid_payload\nmore"
    notifier = build_notifiers({"s": target("slack", receiver.url)}, client)["s"]
    with pytest.raises(DeliveryError) as caught:
        notifier.send(notification("s"))
    assert caught.value.retryable is retryable
    assert str(caught.value) == f"HTTP {status}: invalid_payload more"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def queue(outbox: MemoryOutbox, receiver: str, count: int) -> None:
    outbox.queue_notifications(
        [
            NewNotification(
                receiver, f"fp{i}", "firing", f"fp{i}-1", dict(PAYLOAD, summary=f"n{i}")
            )
            for i in range(count)
        ]
    )


@pytest.mark.parametrize("down", ["refused", "503"])
def test_a_receiver_down_five_minutes_gets_everything_once_in_order(
    receiver: FakeReceiver, client: httpx.Client, down: str
) -> None:
    clock = Clock()
    outbox = MemoryOutbox(clock)
    hook = target("webhook", receiver.url, secret=b"s")
    worker = DeliveryWorker(outbox, build_notifiers({"h": hook}, client), clock, RetrySettings())
    if down == "refused":
        receiver.stop()
    else:
        receiver.status = 503
    queue(outbox, "h", 3)
    attempts_while_down = 0
    while clock.now < T0 + timedelta(minutes=5):  # the worker polls every second
        attempts_while_down += len(worker.deliver_due())
        clock.now += timedelta(seconds=1)
    # backoff 1, 2, 4, …, 256 s: 9 attempts of the head in 5 minutes, the others held back
    assert attempts_while_down == 9
    (head,) = outbox.list_notifications(fingerprint="fp0")
    assert (head.status, head.attempts) == ("pending", 9)
    assert "503" in (head.last_error or "") or "cannot reach" in (head.last_error or "")
    if down == "refused":
        receiver.start()  # the same port again
    receiver.status = 200
    while outbox.list_notifications(status="pending"):
        worker.deliver_due()
        clock.now += timedelta(seconds=1)
    summaries = [json.loads(r.body)["summary"] for r in receiver.received]
    assert summaries == ["n0", "n1", "n2"]
    assert [n.status for n in outbox.list_notifications()] == ["delivered"] * 3
    assert clock.now - T0 <= timedelta(minutes=5, seconds=300)


def test_a_permanent_failure_gives_up_after_one_attempt_and_logs_why(
    receiver: FakeReceiver, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    outbox = MemoryOutbox(clock)
    receiver.status, receiver.reply = 400, b"invalid_payload"
    worker = DeliveryWorker(
        outbox, build_notifiers({"s": target("slack", receiver.url)}, client), clock
    )
    queue(outbox, "s", 2)
    with caplog.at_level(logging.ERROR, logger="errorbudget.services.deliveries"):
        attempts = worker.deliver_due()
    assert [(a.notification.id, a.outcome) for a in attempts] == [(1, "failed"), (2, "failed")]
    assert all(n.attempts == 1 and n.last_error == "HTTP 400: invalid_payload"
               for n in outbox.list_notifications())  # fmt: skip
    assert (
        "given up after 1 attempt(s) (a permanent failure): HTTP 400: invalid_payload"
        in caplog.text
    )


def test_one_receivers_failures_never_block_another(
    receiver: FakeReceiver, client: httpx.Client
) -> None:
    clock = Clock()
    outbox = MemoryOutbox(clock)
    down = FakeReceiver().start()
    down.stop()
    notifiers = build_notifiers(
        {"down": target("slack", down.url), "up": target("slack", receiver.url)}, client
    )
    worker = DeliveryWorker(outbox, notifiers, clock)
    queue(outbox, "down", 2)
    queue(outbox, "up", 2)
    outcomes = {(a.notification.receiver, a.outcome) for a in worker.deliver_due()}
    assert outcomes == {("down", "retrying"), ("up", "delivered")}
    assert len(receiver.received) == 2


@pytest.mark.anyio
async def test_run_delivers_in_worker_threads_until_stopped(
    receiver: FakeReceiver, client: httpx.Client
) -> None:
    import asyncio

    clock = Clock()
    outbox = MemoryOutbox(clock)
    worker = DeliveryWorker(
        outbox, build_notifiers({"s": target("slack", receiver.url)}, client), clock
    )
    queue(outbox, "s", 2)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop, every=0.05))
    for _ in range(100):
        if not outbox.list_notifications(status="pending"):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert [n.status for n in outbox.list_notifications()] == ["delivered", "delivered"]


class Broken:
    """A notifier with a defect: it raises something that is not a DeliveryError."""

    def __init__(self) -> None:
        self.calls = 0

    def send(self, notification: Notification) -> None:
        self.calls += 1
        raise RuntimeError("a notifier bug")


def test_a_notifier_defect_is_a_failed_attempt_and_the_worker_runs_on(
    receiver: FakeReceiver, client: httpx.Client
) -> None:
    """One receiver's notifier raising anything (not a DeliveryError) records a failed
    attempt with backoff and never stops the worker or the other receivers; each is sent
    once."""
    clock = Clock()
    outbox = MemoryOutbox(clock)
    broken = Broken()
    hook = build_notifiers({"h": target("webhook", receiver.url, secret=b"s")}, client)["h"]
    worker = DeliveryWorker(outbox, {"bad": broken, "h": hook}, clock, RetrySettings())
    queue(outbox, "bad", 1)
    queue(outbox, "h", 2)

    async def run_briefly() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop, every=0.02))
        await asyncio.sleep(0.3)
        stop.set()
        await task

    asyncio.run(run_briefly())
    assert len(receiver.received) == 2  # the good receiver: each once
    assert broken.calls == 1  # the defect backed off (the clock did not move), not hammered
    [failed] = outbox.list_notifications(receiver="bad")
    assert failed.status == "pending" and failed.attempts == 1
    assert failed.last_error == "the notifier failed (RuntimeError)"


def test_httpx_does_not_log_a_receivers_url(
    receiver: FakeReceiver, client: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Slack or webhook URL is its secret: with serve's logging (text, info), a delivery
    writes no URL to the log (httpx logs each request's URL at INFO)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    secret_path = "/services/T000/B000/SECRETTOKEN"
    try:
        configure("text", "info")
        logging.getLogger("errorbudget.test").info("logging works")
        build_notifiers({"s": target("slack", receiver.url + secret_path)}, client)["s"].send(
            notification("s")
        )
        logged = capsys.readouterr().err
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("httpx").setLevel(saved[2])
    assert receiver.received and receiver.received[0].path == secret_path
    assert "logging works" in logged  # the log is captured: the check below can fail
    assert "SECRETTOKEN" not in logged
