"""kill -9 of ``errorbudget serve`` while clients submit changes and approve or reject them
over the HTTP API.

Writer threads each loop: submit a change (``POST /changes``, a title of its own, as the
operator), then approve it or reject it (``POST /changes/{id}/approve|reject``, as the
approver), until the server is killed. After every kill:

- every answered submission (201) is stored, once (one change with its title, the id the
  answer gave); no title is stored twice;
- every answered review (200) is stored, once: the change has exactly that one approval
  row, with that decision, and the status it leads to; no change has two;
- a write the kill left unanswered is there whole or not at all (a change without its
  decision, or an approval without its status, would fail ``change_problems``);
- every change verifies against the audit chain (``change_problems``), the whole chain
  verifies (``verify_chain``); SQLite's file passes ``PRAGMA integrity_check``.

At the next start the clients send again what was left unanswered: a review the same way
(the change's state makes it idempotent: a second review of a decided change is a 409, and
the 409 is accepted only when the stored decision is the one sent); a submission — the API
has no idempotency key for changes — only after looking its title up (``GET /changes``), as
a careful client does. Each is then stored exactly once.
"""

from __future__ import annotations

import random
import signal
import threading
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from crash_harness import kill_under_load, serve
from crash_store import CrashStore, chain_state

OPERATOR = "operator-token-crash-0001"
APPROVER = "approver-token-crash-0001"
SERVICE = "cc"


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class ApprovalWorld:
    def __init__(
        self, workdir: Path, env: dict[str, str], store: CrashStore, *, seed: int = 8
    ) -> None:
        self.store = store
        self.env = {**env, **store.env}
        self.random = random.Random(seed)
        self.config = workdir / "approval.yaml"
        self.config.write_text(
            store.config()
            + f"""\
server:
  tokens:
    - {{name: olga, token: {OPERATOR}, role: operator}}
    - {{name: ana, token: {APPROVER}, role: approver}}
slos:
  - id: calls
    service: {SERVICE}
    target: 0.9
    window: {{type: rolling, length: 28d}}
""",
            encoding="utf-8",
        )
        self.changes = 0
        self.submitted: dict[str, int] = {}
        """Title → id of every answered submission."""
        self.reviewed: dict[int, str] = {}
        """Change id → decision of every answered review."""
        self.unsent_submits: list[str] = []
        """Titles whose submission the kill left unanswered (not sent again yet)."""
        self.unsent_reviews: list[tuple[int, str]] = []
        """(change id, decision) of reviews the kill left unanswered."""
        self.resent = 0

    def _decision(self, title: str) -> str:
        return "reject" if zlib.crc32(title.encode()) % 3 == 0 else "approve"

    def _submit(self, client: httpx.Client, title: str) -> int:
        answer = client.post(
            "/api/v1/changes",
            json={"service": SERVICE, "title": title, "change_type": "config", "risk": "low"},
            headers=_headers(OPERATOR),
        )
        assert answer.status_code == 201, answer.text
        change_id: int = answer.json()["id"]
        return change_id

    def _review(self, client: httpx.Client, change_id: int, decision: str) -> httpx.Response:
        return client.post(
            f"/api/v1/changes/{change_id}/{decision}",
            json={"comment": f"{decision} {change_id}"},
            headers=_headers(APPROVER),
        )

    def _send_again(self, url: str) -> None:
        """What the last kill left unanswered, sent again to the restarted server."""
        with httpx.Client(base_url=url, timeout=30) as client:
            # a submission nobody saw answered was never reviewed: it is pending, if stored
            listed = client.get(
                "/api/v1/changes",
                params={"status": "pending", "limit": 1000},
                headers=_headers(OPERATOR),
            )
            assert listed.status_code == 200, listed.text
            stored = {c["title"]: c["id"] for c in listed.json()}
            assert len(stored) < 1000, "the look-up needs paging"
            for title in self.unsent_submits:
                found = stored.get(title)
                self.submitted[title] = found if found else self._submit(client, title)
                self.resent += not found
                self.unsent_reviews.append((self.submitted[title], self._decision(title)))
            self.unsent_submits = []
            for change_id, decision in self.unsent_reviews:
                answer = self._review(client, change_id, decision)
                self.resent += 1
                if answer.status_code == 409:  # decided before the kill: by this review?
                    status = client.get(f"/api/v1/changes/{change_id}", headers=_headers(APPROVER))
                    expected = "approved" if decision == "approve" else "rejected"
                    assert status.json()["status"] == expected, status.text
                else:
                    assert answer.status_code == 200, answer.text
                self.reviewed[change_id] = decision
            self.unsent_reviews = []

    def kill_serve(self, load_seconds: float = 1.5, writers: int = 3) -> dict[str, Any]:
        """Serve, send again what is unanswered, submit and review from ``writers`` threads
        for ``load_seconds``, kill -9, check."""
        process, url = serve(self.config, self.env)
        try:
            self._send_again(url)
        except BaseException:
            process.kill()
            process.wait()
            raise
        lock = threading.Lock()
        counted = {"acknowledged": 0, "unanswered": 0}

        def write(stop: threading.Event) -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                while not stop.is_set():
                    with lock:
                        title = f"crash change {self.changes}"
                        self.changes += 1
                    try:
                        change_id = self._submit(client, title)
                    except httpx.TransportError:
                        with lock:
                            self.unsent_submits.append(title)
                            counted["unanswered"] += 1
                        return
                    with lock:
                        self.submitted[title] = change_id
                        counted["acknowledged"] += 1
                    decision = self._decision(title)
                    try:
                        answer = self._review(client, change_id, decision)
                    except httpx.TransportError:
                        with lock:
                            self.unsent_reviews.append((change_id, decision))
                            counted["unanswered"] += 1
                        return
                    assert answer.status_code == 200, answer.text
                    with lock:
                        self.reviewed[change_id] = decision
                        counted["acknowledged"] += 1

        kill_under_load(process, write, writers, load_seconds)
        self.check()
        return counted

    def finish(self) -> dict[str, Any]:
        """Restart, send everything unanswered again, stop cleanly; then check."""
        process, url = serve(self.config, self.env)
        try:
            self._send_again(url)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        return self.check()

    def check(self) -> dict[str, Any]:
        """The checks of the module's docstring; raises AssertionError with the findings."""
        lost: list[str] = []
        doubled: list[str] = []
        broken: list[str] = []
        with self.store.open() as store:
            changes = store.list_changes(limit=1_000_000)
            approvals = {c.id: store.list_approvals(c.id) for c in changes}
            for change in changes:
                broken += [f"change {change.id}: {p}" for p in store.change_problems(change.id)]
            chain = chain_state(store)
        titles = Counter(c.title for c in changes)
        doubled += [f"{t!r} stored {n} times" for t, n in titles.items() if n > 1]
        by_id = {c.id: c for c in changes}
        for title, change_id in self.submitted.items():
            if change_id not in by_id or by_id[change_id].title != title:
                lost.append(f"answered change {change_id} ({title!r})")
        for change_id, found in approvals.items():
            if len(found) > 1:
                doubled.append(f"change {change_id}: {len(found)} reviews")
            status = by_id[change_id].status
            if found and status != ("approved" if found[0].decision == "approve" else "rejected"):
                broken.append(f"change {change_id}: {status} after a {found[0].decision}")
        for change_id, decision in self.reviewed.items():
            if [a.decision for a in approvals.get(change_id, [])] != [decision]:
                lost.append(f"answered {decision} of change {change_id}")
        result = {
            "integrity": self.store.integrity(),
            "chain": chain if not broken else f"{chain}; {broken[:3]}",
            "lost": lost,
            "doubled": doubled,
            "changes": len(changes),
            "reviews": sum(len(a) for a in approvals.values()),
        }
        assert result["integrity"] in ("ok", None), result
        assert chain == "ok" and not broken, result
        assert not lost and not doubled, result
        return result
