"""Exact steady-state queueing results, used to validate the engines and to sanity-check twins.

Conventions: rates (arrivals, services, abandonment) are per time unit; every time is in that
same unit; loads are in Erlangs. Results are exact for the model named (no approximations):

- :func:`mm1`, :func:`mmc` (Erlang C), :func:`erlang_b`, :func:`erlang_c`, :func:`mmcc`
  (Erlang loss M/M/c/c), :func:`mmck` (M/M/c/K), :func:`erlang_a` (M/M/c+M),
  :func:`mmc_wait_cdf`, :func:`mmc_wait_quantile`;
- :func:`mg1` (Pollaczek-Khinchine) with :func:`distribution_moments` of spec distributions;
- :func:`jackson_network`, :func:`jackson_from_spec`, :func:`traffic_equations`;
- :func:`birth_death_stationary` and :class:`BirthDeath` (truncated chains);
- Little's law: :func:`little_l`, :func:`little_w`, :func:`little_rate`;
- time-varying arrivals: :func:`expected_arrivals`, :func:`expected_arrivals_by_time`,
  :func:`delay_occupancy` (M_t/D/infinity).
"""

from __future__ import annotations

from ._birth_death import BirthDeath, birth_death_stationary
from ._erlang import (
    erlang_a,
    erlang_b,
    erlang_c,
    mm1,
    mmc,
    mmc_wait_cdf,
    mmc_wait_quantile,
    mmcc,
    mmck,
)
from ._little import little_l, little_rate, little_w
from ._metrics import AbandonmentMetrics, LossMetrics, QueueMetrics
from ._mg1 import distribution_moments, mg1
from ._networks import JacksonNetwork, jackson_from_spec, jackson_network, traffic_equations
from ._time_varying import delay_occupancy, expected_arrivals, expected_arrivals_by_time

__all__ = [
    "AbandonmentMetrics",
    "BirthDeath",
    "JacksonNetwork",
    "LossMetrics",
    "QueueMetrics",
    "birth_death_stationary",
    "delay_occupancy",
    "distribution_moments",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "expected_arrivals",
    "expected_arrivals_by_time",
    "jackson_from_spec",
    "jackson_network",
    "little_l",
    "little_rate",
    "little_w",
    "mg1",
    "mm1",
    "mmc",
    "mmc_wait_cdf",
    "mmc_wait_quantile",
    "mmcc",
    "mmck",
    "traffic_equations",
]
