"""Entity listings: ``GET /api/v2/routing/queues`` (QueueEntityListing),
``GET /api/v2/routing/queues/{queueId}`` (Queue) and ``GET /api/v2/flows`` (FlowEntityListing).

Paging as the Platform API does it: ``pageSize`` (1–500, default 25), ``pageNumber`` (from
1), and ``entities``, ``pageSize``, ``pageNumber``, ``total``, ``pageCount`` plus the
``firstUri``/``selfUri``/``nextUri``/``previousUri``/``lastUri`` links. ``name`` filters by
name, case-insensitive, ``*`` as a wildcard; ``id`` (repeatable) by id.

A queue's service-level setting is in ``mediaSettings.<media>.serviceLevel``
(``percentage`` 0–1, ``durationMs``), ``<media>`` being ``call`` for voice and otherwise
the media type (``callback``, ``chat``, ``email``, ``message``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlencode

from errorbudget.simulate.genesys_api.queries import QueryError
from errorbudget.simulate.scenario import FlowSpec, QueueSpec, Scenario

MEDIA_SETTING_KEYS = {
    "voice": "call",
    "callback": "callback",
    "chat": "chat",
    "email": "email",
    "message": "message",
}
MAX_PAGE_SIZE = 500
CREATED = "2024-03-01T12:00:00.000Z"


def _division(scenario: Scenario) -> dict[str, str]:
    return {
        "id": scenario.division_id,
        "name": scenario.division_name,
        "selfUri": f"/api/v2/authorization/divisions/{scenario.division_id}",
    }


def queue_entity(
    scenario: Scenario, queue: QueueSpec, target: tuple[float, int] | None = None
) -> dict[str, Any]:
    """The queue; ``target`` (percent, seconds) is its current service-level target for its
    own media type (default: the scenario's)."""
    percent, seconds = target or (queue.sl_target_percent, queue.sl_target_seconds)
    media_settings = {}
    for media, key in MEDIA_SETTING_KEYS.items():
        own = media == queue.media_type
        media_settings[key] = {
            "alertingTimeoutSeconds": 8 if media == "voice" else 30,
            "serviceLevel": {
                "percentage": percent / 100 if own else 0.8,
                "durationMs": seconds * 1000 if own else 20000,
            },
        }
    return {
        "id": queue.id,
        "name": queue.name,
        "division": _division(scenario),
        "description": f"{queue.tier} {queue.media_type} queue (simulated)",
        "dateCreated": CREATED,
        "dateModified": CREATED,
        "memberCount": queue.member_count,
        "userMemberCount": queue.member_count,
        "joinedMemberCount": queue.member_count,
        "mediaSettings": media_settings,
        "acwSettings": {"wrapupPrompt": "OPTIONAL", "timeoutMs": 30000},
        "skillEvaluationMethod": "BEST",
        "autoAnswerOnly": False,
        "enableTranscription": False,
        "enableManualAssignment": False,
        "selfUri": f"/api/v2/routing/queues/{queue.id}",
    }


def flow_entity(scenario: Scenario, flow: FlowSpec) -> dict[str, Any]:
    return {
        "id": flow.id,
        "name": flow.name,
        "division": _division(scenario),
        "description": "inbound call flow (simulated)",
        "type": "INBOUNDCALL",
        "active": True,
        "system": False,
        "deleted": False,
        "supportedLanguages": [{"language": flow.language, "isDefault": True}],
        "selfUri": f"/api/v2/flows/{flow.id}",
    }


def _int(params: dict[str, list[str]], name: str, default: int) -> int:
    values = params.get(name)
    if not values:
        return default
    try:
        return int(values[-1])
    except ValueError:
        raise QueryError(f"{name}: {values[-1]!r} is not a whole number") from None


def listing(
    path: str,
    entities: Sequence[tuple[str, str, dict[str, Any]]],
    params: dict[str, list[str]],
) -> dict[str, Any]:
    """A page of ``entities`` ((id, name, body) triples) for the query ``params``."""
    size = _int(params, "pageSize", 25)
    number = _int(params, "pageNumber", 1)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise QueryError(f"pageSize: must be between 1 and {MAX_PAGE_SIZE}")
    if number < 1:
        raise QueryError("pageNumber: must be 1 or more")
    names = params.get("name", [])
    ids = set(params.get("id", []))
    chosen = [
        body
        for entity_id, name, body in entities
        if (not ids or entity_id in ids)
        and all(fnmatchcase(name.casefold(), pattern.casefold()) for pattern in names)
    ]
    total = len(chosen)
    pages = max(1, math.ceil(total / size))
    query = {k: v for k, v in params.items() if k not in ("pageSize", "pageNumber")}

    def uri(page: int) -> str:
        pairs = [("pageSize", str(size)), ("pageNumber", str(page))]
        pairs += [(k, v) for k, values in query.items() for v in values]
        return f"{path}?{urlencode(pairs)}"

    body: dict[str, Any] = {
        "entities": chosen[(number - 1) * size : number * size],
        "pageSize": size,
        "pageNumber": number,
        "total": total,
        "firstUri": uri(1),
        "selfUri": uri(number),
        "lastUri": uri(pages),
        "pageCount": pages,
    }
    if number < pages:
        body["nextUri"] = uri(number + 1)
    if number > 1:
        body["previousUri"] = uri(number - 1)
    return body


def queues_page(
    scenario: Scenario,
    params: dict[str, list[str]],
    targets: Sequence[tuple[float, int]] | None = None,
) -> dict[str, Any]:
    """``targets``: each queue's current (percent, seconds), in scenario order."""
    entities = [
        (q.id, q.name, queue_entity(scenario, q, targets[i] if targets else None))
        for i, q in enumerate(scenario.queues)
    ]
    return listing("/api/v2/routing/queues", entities, params)


def flows_page(scenario: Scenario, params: dict[str, list[str]]) -> dict[str, Any]:
    types = {t.casefold() for t in params.get("type", [])}
    if types - {"inboundcall"}:
        entities = []
    else:
        entities = [(f.id, f.name, flow_entity(scenario, f)) for f in scenario.flows]
    rest = {k: v for k, v in params.items() if k != "type"}
    return listing("/api/v2/flows", entities, rest)
