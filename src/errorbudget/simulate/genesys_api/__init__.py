"""A fake Genesys Cloud API over the simulator: same endpoints, schemas, limits and faults.

Build it with :func:`create_app` (FastAPI) or run it with ``errorbudget simulate genesys
--port P`` (loopback by default). Endpoints (paths as on ``api.<region>``; the token
endpoint as on ``login.<region>``)::

    POST /oauth/token                                   client credentials: HTTP Basic
         client_id:client_secret, form grant_type=client_credentials →
         {"access_token", "token_type": "bearer", "expires_in"}; 401 invalid_client
    GET  /api/v2/routing/queues?pageSize&pageNumber&name&id   QueueEntityListing
    GET  /api/v2/routing/queues/{queueId}                     Queue
    GET  /api/v2/flows?type=inboundcall&pageSize&pageNumber&name   FlowEntityListing
    POST /api/v2/analytics/conversations/aggregates/query     ConversationAggregateQueryResponse
    POST /api/v2/analytics/flows/aggregates/query             FlowAggregateQueryResponse
    POST /api/v2/analytics/queues/observations/query          QueueObservationQueryResponse
    GET  /api/v2/summary.json                                 status page (Statuspage shape)
    GET  /_fake/stats, POST /_fake/stats/reset, GET /_fake/clock   test hooks (no auth)
    POST /_fake/queues/{queueId}/service-level   {"percentage", "durationMs"}: change a target
    POST /_fake/service-level-calculation         {"includeFlowOuts", "excludeShortAbandons"}

Like Genesys Cloud, ``nOverSla`` and ``oServiceLevel`` of every interval, past ones included,
use the org's service-level settings as they are *now* (the queue's target, the calculation
options): changing them through the hooks recalculates history.

Every ``/api/v2`` call except ``summary.json`` needs ``Authorization: Bearer <token>``
(401 ``authentication.required`` / ``bad.credentials`` otherwise), counts against the
per-token rate limit (``inin-ratelimit-count|allowed|reset`` headers on every answer; 429
``too.many.requests.retry.after`` + ``Retry-After`` seconds), and may meet injected faults
(:mod:`.faults`). Errors use the Platform API's body ``{message, code, status, contextId,
details, errors}``. Queries: :mod:`.queries`; metrics and their event times:
:mod:`errorbudget.simulate.aggregate`; observations: :mod:`.observations`.
"""

from errorbudget.simulate.genesys_api.app import ApiSettings, RequestStats, create_app
from errorbudget.simulate.genesys_api.faults import FaultSpec, FaultSpecError, parse_faults

__all__ = [
    "ApiSettings",
    "FaultSpec",
    "FaultSpecError",
    "RequestStats",
    "create_app",
    "parse_faults",
]
