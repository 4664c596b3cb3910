"""Erlang-A (M/M/n+M) queueing: waiting times for callers who may abandon.

Poisson arrivals (rate λ), ``n`` agents with exponential handle times (rate μ = 1/AHT) and
exponential caller patience (rate θ = 1/mean patience; θ = 0 is Erlang C). The number in
system is a birth–death chain with death rate ``min(k, n)·μ + max(k − n, 0)·θ``; by PASTA an
arrival sees its stationary distribution. An arrival finding ``q`` callers waiting ahead
reaches an agent after ``Σ_{i=0..q} Exp(n·μ + i·θ)`` (its *offered wait*: each step is a
service completion or an abandonment ahead). It abandons when its own patience is shorter.
(Garnett, Mandelbaum & Reiman, "Designing a call center with impatient customers", 2002.)

Each 15-minute block is treated as quasi-stationary with that block's λ, n, μ, θ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

MAX_QUEUE = 2000


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Rates per second."""

    arrival_rate: float
    agents: int
    service_rate: float
    abandon_rate: float

    @property
    def offered_load(self) -> float:
        """Erlangs: λ / μ."""
        return self.arrival_rate / self.service_rate

    def state_probabilities(self) -> np.ndarray:
        """Stationary P(k in system), k = 0..K (truncated where negligible or at n + 2000)."""
        return _states(
            round(self.arrival_rate, 12),
            self.agents,
            round(self.service_rate, 12),
            round(self.abandon_rate, 12),
        )

    def sample_offered_waits(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Offered waits (seconds) for ``size`` arrivals; ``inf`` when no agent will come."""
        if size == 0:
            return np.zeros(0)
        if self.agents == 0:
            return np.full(size, np.inf)
        probabilities = self.state_probabilities()
        states = rng.choice(len(probabilities), size=size, p=probabilities)
        ahead = states - self.agents  # callers waiting ahead; < 0 means a free agent
        waits = np.zeros(size)
        queued = ahead >= 0
        if not queued.any():
            return waits
        steps = ahead[queued] + 1
        width = int(steps.max())
        rates = self.agents * self.service_rate + np.arange(width) * self.abandon_rate
        draws = rng.standard_exponential((len(steps), width)) / rates
        draws[np.arange(width)[None, :] >= steps[:, None]] = 0.0
        waits[queued] = draws.sum(axis=1)
        return waits


@lru_cache(maxsize=4096)
def _states(arrival: float, agents: int, service: float, abandon: float) -> np.ndarray:
    if arrival <= 0:
        result = np.zeros(1)
        result[0] = 1.0
        return result
    if abandon > 0:
        excess = max(0.0, arrival - agents * service) / abandon
        limit = agents + int(min(MAX_QUEUE, 20 + 4 * excess + 6 * math.sqrt(excess + 1)))
    else:
        limit = agents + MAX_QUEUE
    k = np.arange(1, limit + 1)
    deaths = np.minimum(k, agents) * service + np.maximum(k - agents, 0) * abandon
    with np.errstate(divide="ignore"):
        log_terms = np.log(arrival) - np.log(deaths)
    log_p = np.concatenate(([0.0], np.cumsum(log_terms)))
    log_p -= log_p.max()
    probabilities = np.exp(log_p)
    probabilities /= probabilities.sum()
    probabilities.setflags(write=False)
    return probabilities


def square_root_staffing(offered_load: float, beta: float, minimum: int = 0) -> int:
    """Agents for a quality-and-efficiency-driven regime: ``⌈R + β√R⌉`` (Halfin–Whitt),
    ``minimum`` when there is no load."""
    if offered_load <= 0:
        return minimum
    return max(minimum, math.ceil(offered_load + beta * math.sqrt(offered_load)))
