"""The demo's voice agent, beside its contact center: seed 002's starter kit in the demo
config, and a month of the voice-agent simulator's events ingested into the demo's store
(then, in the live demo, its new events every few seconds).

The starter kit's services, burn catalogs and SLOs are added to the demo config's lists as
text, so the written config keeps both files' comments.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from errorbudget.catalogs import voice_agent_starter_text
from errorbudget.simulate.voice_agent import (
    VoiceAgentSimulator,
    VoiceDay,
    VoiceScenario,
    day_tables,
    wide_table,
)
from errorbudget.sources.events import parse_parquet

if TYPE_CHECKING:
    from errorbudget.services.event_ingest import EventIngestReport

VOICE_SERVICE = "voice-agent"
"""The starter kit's service: the voice agent's SLOs in the demo."""
VOICE_PAGE_SLO = "voice-task-completion"
"""The voice page the demo's tour opens first: the bad prompt release on billing-es."""
VOICE_PAGE_SLOS = (VOICE_PAGE_SLO, "voice-turn-latency")
"""The voice pages the tour lists: task completion (the prompt release), turn latency (the
TTS incident on the ``tts`` stage)."""
VOICE_BURNING_FLOW = "billing-es"
"""The flow the scenario's bad prompt release burns: a prompt change there is not allowed."""
VOICE_QUIET_FLOW = "faq-en"
"""A flow no incident touches: a prompt change there is allowed while billing-es burns."""
MERGED_LISTS = ("services", "burn_catalogs", "slos")
"""The demo config's top-level lists the starter kit's items join."""
_TOP_LEVEL = re.compile(r"^([A-Za-z_][\w-]*):(\s|$)")


def top_level_blocks(text: str) -> list[tuple[str | None, list[str]]]:
    """``text`` cut at its top-level keys: (key, its lines from the key's line on); what
    precedes the first key has the key None. Comment lines just before a key stay with the
    block above (block-style YAML, as the packaged files are written)."""
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines(keepends=True):
        match = _TOP_LEVEL.match(line)
        if match is not None:
            blocks.append((match.group(1), [line]))
        else:
            blocks[-1][1].append(line)
    return blocks


def with_voice_agent(demo_text: str) -> str:
    """The demo config with the voice-agent starter kit's services, burn catalogs and SLOs
    appended to its own lists (before the comments that introduce the next key)."""
    extra = {key: trimmed(lines[1:]) for key, lines in top_level_blocks(voice_agent_starter_text())}
    extra["slos"] = without_no_data_alerts(extra["slos"])
    out: list[str] = []
    for key, lines in top_level_blocks(demo_text):
        if key not in MERGED_LISTS:
            out.extend(lines)
            continue
        tail = len(lines)
        while tail > 1 and (not lines[tail - 1].strip() or lines[tail - 1].startswith("#")):
            tail -= 1
        body = lines[:tail]
        if not body[-1].endswith("\n"):
            body[-1] += "\n"
        out.extend(body)
        out.append("  # seed 002's voice-agent starter kit (errorbudget init voice-agent)\n")
        if key == "slos":
            out.append(NO_DATA_NOTE)
        out.extend(extra[key])
        out.extend(lines[tail:])
    if not out[-1].endswith("\n"):
        out[-1] += "\n"
    out.append(EVENTS_SECTION)
    return "".join(out)


NO_DATA_NOTE = """\
  # The demo's voice agent takes 3 calls a minute at its peak, not the 60 the kit is written
  # for: its small flows go quiet for longer than the 15 minutes after which SLONoData fires
  # (a lull, not an outage), so in the demo only the synthetic checks (every 5 minutes) keep
  # that alert: `alerting: {no_data: null}` on the others.
"""

EVENTS_SECTION = """\
# The voice agent's month is ingested when the demo starts, and the live demo's clock has
# moved on by then: a day's margin keeps the month's first hour inside the events retention.
events:
  retention: 31d
"""


KEEP_NO_DATA = frozenset({"voice-synthetic-critical-flows"})
"""The demo's voice SLOs that keep ``SLONoData``: the synthetic checks run every 5 minutes
whatever the traffic."""
_SLO_ITEM = re.compile(r"^  - id: *([\w.-]+)")
_ALERTING = "    alerting: {"


def without_no_data_alerts(lines: list[str]) -> list[str]:
    """The starter kit's SLO items (block-style, as packaged) with ``alerting.no_data: null``,
    except :data:`KEEP_NO_DATA`. The demo's voice agent takes 3 calls a minute at its peak,
    not the 60 the kit is written for: its small flows go quiet for longer than the
    15 minutes after which ``SLONoData`` fires (a lull, not an outage), and the live demo's
    console would be all such alerts."""
    items: list[list[str]] = [[]]
    for line in lines:
        if _SLO_ITEM.match(line):
            items.append([])
        items[-1].append(line)
    out = list(items[0])
    for item in items[1:]:
        match = _SLO_ITEM.match(item[0])
        if match is None or match.group(1) in KEEP_NO_DATA:
            out.extend(item)
            continue
        at = next((i for i, line in enumerate(item) if line.startswith(_ALERTING)), None)
        if at is not None:
            item = [*item[:at], item[at].replace("{", "{no_data: null, ", 1), *item[at + 1 :]]
        else:
            end = len(item)
            while end > 1 and (not item[end - 1].strip() or item[end - 1].lstrip().startswith("#")):
                end -= 1
            item = [
                *item[:end],
                "    alerting: {no_data: null}  # the demo: see above\n",
                *item[end:],
            ]
        out.extend(item)
    return out


def trimmed(lines: list[str]) -> list[str]:
    """``lines`` without blank lines at either end."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


# --- the voice agent's events into the demo's store ---------------------------------------

VOICE_CALLS_PER_MINUTE = 3.0
"""The demo voice agent's calls a minute at its daily peak (the simulator's default is 6):
≈ 0.58 M events a month, ingested in about 5 s (CPU) when the demo starts. With no incident
every flow keeps about half of every budget at this volume (tests/unit/test_voice_agent_truth.py);
fewer calls make the small segments (fraud-escalation, the audited intent sample) so sparse that
noise alone can eat their budgets. The bad prompt release freezes billing-es; a flow-scoped gate
(``--segment flow=faq-en``) stays open meanwhile."""


@dataclass(frozen=True, slots=True)
class VoiceBackfill:
    events: int
    written: int
    seconds: float


class VoiceAgentFeed:
    """The simulated voice agent as a producer: its events, a window at a time, through
    ``ingest`` (the App's event ingest service). Each window ends where the next begins, so
    each event is sent once (and a re-sent one would be dropped by its id)."""

    def __init__(
        self, sim: VoiceAgentSimulator, ingest: Callable[[pa.Table], EventIngestReport]
    ) -> None:
        self.sim = sim
        self.ingest = ingest
        self.sent_until: datetime | None = None

    def send(self, start: datetime, end: datetime) -> tuple[int, int]:
        """The events of ``[start, end)``, a day at a time; (sent, written)."""
        sent = written = 0
        for day in self.sim.window(start, end):
            table = event_table(self.sim, day)
            if table.num_rows:
                report = self.ingest(table)
                sent += report.received
                written += report.written_events
        self.sent_until = end
        return sent, written

    def backfill(self, start: datetime, end: datetime) -> VoiceBackfill:
        began = time.perf_counter()
        sent, written = self.send(start, end)
        return VoiceBackfill(sent, written, time.perf_counter() - began)

    def catch_up(self, now: datetime) -> int:
        """Send what happened since the last window, up to ``now`` (whole minutes)."""
        end = now.astimezone(UTC).replace(second=0, microsecond=0)
        if self.sent_until is None or end <= self.sent_until:
            return 0
        return self.send(self.sent_until, end)[1]


def event_table(sim: VoiceAgentSimulator, day: VoiceDay) -> pa.Table:
    """A simulated day's events as the events parser reads them from a Parquet file (the
    path of ``errorbudget ingest --events events.parquet``)."""
    buffer = io.BytesIO()
    pq.write_table(wide_table(day_tables(sim, day)), buffer)
    buffer.seek(0)
    return parse_parquet(buffer)


# --- its incidents as annotations ------------------------------------------------------------

LATENCY_SLOS = (
    "voice-turn-latency",
    "voice-tool-turn-latency",
    "voice-time-to-first-word",
    "voice-synthetic-critical-flows",
)
RELEASE_SLOS = ("voice-task-completion", "voice-unnecessary-escalation")


@dataclass(frozen=True, slots=True)
class VoiceNote:
    """One annotation of the voice agent's scenario on one SLO."""

    at: datetime
    kind: Literal["incident", "config"]
    text: str
    slo: str


def voice_notes(scenario: VoiceScenario, slo_ids: Collection[str]) -> list[VoiceNote]:
    """The scenario's latency incidents (on the latency SLIs) and prompt releases (on task
    completion and unnecessary escalation), for the SLOs the config has."""
    notes = []
    for incident in scenario.incidents:
        text = (
            f"{incident.name}: simulated, {incident.stage} +{incident.extra_ms:.0f} ms on "
            f"{incident.provider}, {incident.start:%Y-%m-%d %H:%M}–{incident.end:%H:%M} UTC"
        )
        notes += [VoiceNote(incident.start, "incident", text, s) for s in LATENCY_SLOS]
    for release in scenario.releases:
        text = (
            f"Prompt release {release.prompt_version} on {release.flow} (simulated; a bad release)"
        )
        notes += [VoiceNote(release.at, "config", text, s) for s in RELEASE_SLOS]
    return [note for note in notes if note.slo in slo_ids]
