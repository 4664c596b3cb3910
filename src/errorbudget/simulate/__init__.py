"""A deterministic contact-center simulator and a fake Genesys Cloud API over it.

Public API::

    from errorbudget.simulate import (
        Scenario, QueueSpec, FlowSpec, Incident, Seasonality, ServiceLevelSettings,
        default_scenario,            # the packaged scenario, incidents relative to an anchor
        Simulation,                  # random access to any block's conversations
        Conversation,                # one record (Simulation.conversations(start, end))
        SimClock, ManualClock,       # accelerated / hand-driven simulated clocks
        ground_truth, flow_ground_truth, QueueCounts, FlowCounts,
    )
    from errorbudget.simulate.genesys_api import create_app, ApiSettings, parse_faults
    from errorbudget.simulate.server import FakeGenesysServer   # uvicorn in a thread

    sim = Simulation(default_scenario(anchor), seed=7)
    clock = SimClock(start=anchor, speed=60)
    app = create_app(sim, clock, parse_faults("429=0.3,5xx=0.1"), ApiSettings())

Same seed + same scenario ⇒ same conversations, whatever is generated first (each 15-minute
block of each queue and flow has its own seed). Data becomes visible when its event time
is before the clock's now: the open interval is partial and grows; a closed one is final.
"""

from errorbudget.simulate.clock import ManualClock, SimClock
from errorbudget.simulate.default_scenario import default_scenario
from errorbudget.simulate.engine import Simulation
from errorbudget.simulate.records import Conversation
from errorbudget.simulate.scenario import (
    FlowSpec,
    Incident,
    QueueSpec,
    Scenario,
    Seasonality,
    ServiceLevelSettings,
)
from errorbudget.simulate.truth import FlowCounts, QueueCounts, flow_ground_truth, ground_truth

__all__ = [
    "Conversation",
    "FlowCounts",
    "FlowSpec",
    "Incident",
    "ManualClock",
    "QueueCounts",
    "QueueSpec",
    "Scenario",
    "Seasonality",
    "ServiceLevelSettings",
    "SimClock",
    "Simulation",
    "default_scenario",
    "flow_ground_truth",
    "ground_truth",
]
