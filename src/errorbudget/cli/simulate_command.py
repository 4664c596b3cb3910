"""``errorbudget simulate``: the contact-center simulator and its fake Genesys Cloud API."""

from __future__ import annotations

from datetime import datetime

import click

from errorbudget.cli.common import time_option
from errorbudget.errors import InvalidRequestError


@click.group()
def simulate() -> None:
    """Simulate a contact center (queues, IVR flows, staffing, incidents) or a voice agent
    (calls, turns, tasks, escalations, synthetic checks)."""


@simulate.command()
@click.option(
    "--port", type=click.IntRange(0, 65535), required=True, help="TCP port (0: any free)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Simulation seed.")
@time_option("--start", help="Simulated time at start-up [default: now].")
@click.option(
    "--faults",
    default="",
    metavar="SPEC",
    help="Fault injection, e.g. 429=0.3,5xx=0.1,slow=0.05:2s,malformed=0.01,"
    "revoke-token-after=50,expire-token-early=0.2,outage=+2h:5m.",
)
@click.option("--client-id", default="errorbudget-sim", show_default=True, help="OAuth client id.")
@click.option(
    "--client-secret",
    default="errorbudget-sim-secret",
    show_default=True,
    envvar="ERRORBUDGET_SIM_CLIENT_SECRET",
    help="OAuth client secret [env ERRORBUDGET_SIM_CLIENT_SECRET].",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=1),
    default=300,
    show_default=True,
    help="Requests per minute per token.",
)
@click.option(
    "--token-ttl",
    type=click.IntRange(min=1),
    default=86_399,
    show_default=True,
    help="Token lifetime in seconds (expires_in).",
)
def genesys(
    port: int,
    host: str,
    speed: float,
    seed: int,
    start: datetime | None,
    faults: str,
    client_id: str,
    client_secret: str,
    rate_limit: int,
    token_ttl: int,
) -> None:
    """Serve a fake Genesys Cloud API (OAuth, routing queues, analytics aggregates and
    observations, status page) over the default simulated contact center, until Ctrl-C."""
    from errorbudget.simulate import SimClock, Simulation, default_scenario
    from errorbudget.simulate.genesys_api import ApiSettings, FaultSpecError, parse_faults
    from errorbudget.simulate.server import FakeGenesysServer

    try:
        fault_spec = parse_faults(faults)
    except FaultSpecError as exc:
        raise InvalidRequestError(f"--faults: {exc}") from exc
    clock = SimClock(start=start, speed=speed)
    simulation = Simulation(default_scenario(clock.start), seed=seed)
    settings = ApiSettings(
        client_id=client_id,
        client_secret=client_secret,
        rate_limit_per_minute=rate_limit,
        token_ttl_seconds=token_ttl,
        warm_days=8,
    )
    server = FakeGenesysServer(simulation, clock, fault_spec, settings, host=host, port=port)
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        raise InvalidRequestError(f"cannot serve on {host}:{port}: {exc}") from exc
    click.echo(f"Fake Genesys Cloud API on {server.base_url}  (client id {client_id})")
    click.echo(
        f"Simulated time starts {clock.start:%Y-%m-%d %H:%M:%S} UTC at {speed:g}x; seed {seed}; "
        f"faults: {faults or 'none'}"
    )
    click.echo("Stats: GET /_fake/stats   Stop: Ctrl-C")
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _add_voice_agent() -> None:
    from errorbudget.cli.simulate_voice import voice_agent

    simulate.add_command(voice_agent)


_add_voice_agent()
