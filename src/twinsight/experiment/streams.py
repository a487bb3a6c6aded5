"""Independent, reproducible random streams: one per replication and per source of randomness.

A stream is named by its source (``arrival:walk-in``, ``service:triage``, ``patience:triage``,
``routing:triage``, ``initial``). Its seed depends only on the experiment seed, the replication
number and that name, so scenarios that share a seed share common random numbers in every
source they have in common.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["source_key", "stream_seed", "stream_sources", "xoshiro_state"]


def source_key(source: str) -> int:
    """A stable 32-bit key for a source name."""
    return zlib.crc32(source.encode("utf-8"))


def stream_seed(seed: int, rep: int, source: str) -> np.random.SeedSequence:
    """The seed sequence of ``source`` in replication ``rep`` of an experiment seeded ``seed``."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(rep, source_key(source)))


def xoshiro_state(seed: int, rep: int, source: str) -> np.ndarray:
    """Four non-zero 64-bit words that seed a xoshiro256** stream for ``source``."""
    state = stream_seed(seed, rep, source).generate_state(4, np.uint64)
    if not state.any():  # pragma: no cover - probability 2**-256
        state[0] = np.uint64(0x9E3779B97F4A7C15)
    return state


def stream_sources(arrivals: list[str], stations: list[str]) -> list[str]:
    """Every source name of a flow network, in a fixed order."""
    out = [f"arrival:{a}" for a in arrivals]
    for s in stations:
        out += [f"service:{s}", f"patience:{s}", f"routing:{s}"]
    out.append("initial")
    return out
