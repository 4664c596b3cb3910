"""The alert lifecycle (engine/lifecycle.py): the step live alerting takes at each
evaluation, and the run-based replay of the same rules, which must never disagree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from errorbudget.alert_records import AlertState
from errorbudget.engine.lifecycle import Episode, episodes, step


def stepped(
    instants: list[int],
    active: list[bool],
    *,
    for_minutes: int = 0,
    keep_minutes: int = 0,
    hold_until: list[int | None] | None = None,
    inhibited: list[bool] | None = None,
) -> tuple[list[Episode], list[tuple[int, str]]]:
    """Episodes and transitions from stepping one instant at a time, as live alerting does."""
    state = AlertState()
    found: list[Episode] = []
    transitions: list[tuple[int, str]] = []
    for index, (at, on) in enumerate(zip(instants, active, strict=True)):
        state, transition = step(
            state,
            at=at,
            active=on,
            for_minutes=for_minutes,
            keep_minutes=keep_minutes,
            hold_until=hold_until[index] if hold_until else None,
            inhibited=inhibited[index] if inhibited else False,
        )
        if transition is None:
            continue
        transitions.append((at, transition))
        if transition == "firing":
            assert state.active_since is not None and state.fired_at is not None
            found.append(Episode(state.active_since, state.fired_at, None, state.inhibited))
        elif transition == "resolved":
            found[-1] = Episode(found[-1].active_since, found[-1].fired_at, at, found[-1].inhibited)
    return found, transitions


def test_fires_at_once_without_for_and_resolves_at_the_first_quiet_instant() -> None:
    instants = list(range(100, 110))
    active = [False, True, True, True, False, False, True, False, False, False]
    found, transitions = stepped(instants, active)
    assert transitions == [(101, "firing"), (104, "resolved"), (106, "firing"), (107, "resolved")]
    assert found == episodes(instants, active)
    assert found[0] == Episode(101, 101, 104, False)


def test_pending_waits_out_for_and_clears_silently() -> None:
    instants = list(range(10))
    active = [True, True, False, True, True, True, True, False, False, False]
    found, transitions = stepped(instants, active, for_minutes=3)
    # 0..1 holds for 1 minute < 3: cleared at 2, never fired; 3..6 fires at 6 (6 − 3 = 3)
    assert transitions == [
        (0, "pending"),
        (2, "cleared"),
        (3, "pending"),
        (6, "firing"),
        (7, "resolved"),
    ]
    assert found == [Episode(3, 6, 7, False)] == episodes(instants, active, for_minutes=3)


def test_keep_bridges_a_short_gap_and_hold_delays_resolution() -> None:
    instants = list(range(20))
    active = [i in (1, 2, 5, 6) for i in instants]
    assert episodes(instants, active, keep_minutes=2) == [Episode(1, 1, 9, False)]
    assert episodes(instants, active, keep_minutes=1) == [
        Episode(1, 1, 4, False),
        Episode(5, 5, 8, False),
    ]
    hold = [15 if i == 1 else None for i in instants]
    assert episodes(instants, active, hold_until=hold) == [Episode(1, 1, 15, False)]


def test_inhibition_is_decided_when_the_episode_fires() -> None:
    instants = list(range(8))
    active = [False, True, True, True, False, True, True, False]
    inhibited = [False, True, False, False, False, False, True, False]
    assert episodes(instants, active, inhibited=inhibited) == [
        Episode(1, 1, 4, True),
        Episode(5, 5, 7, False),
    ]


@st.composite
def timelines(draw: st.DrawFn) -> dict[str, object]:
    length = draw(st.integers(0, 60))
    steps = draw(st.lists(st.integers(1, 4), min_size=length, max_size=length))
    instants: list[int] = []
    minute = draw(st.integers(0, 1_000))
    for gap in steps:
        minute += gap
        instants.append(minute)
    active = draw(st.lists(st.booleans(), min_size=length, max_size=length))
    holds = draw(
        st.lists(st.one_of(st.none(), st.integers(0, 1_300)), min_size=length, max_size=length)
    )
    inhibited = draw(st.lists(st.booleans(), min_size=length, max_size=length))
    return {
        "instants": instants,
        "active": active,
        "for_minutes": draw(st.integers(0, 6)),
        "keep_minutes": draw(st.integers(0, 6)),
        "hold_until": holds,
        "inhibited": inhibited,
    }


@settings(max_examples=400, deadline=None)
@given(timelines())
def test_replay_equals_stepping_instant_by_instant(case: dict[str, object]) -> None:
    live, _ = stepped(**case)  # type: ignore[arg-type]
    assert episodes(**case) == live  # type: ignore[arg-type]
