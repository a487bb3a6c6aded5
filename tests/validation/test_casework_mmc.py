"""The casework model against queueing theory: one team of c workers with caseload k is an
M/M/(c k) queue when triage, the client's reply and closure take no time and assessments are
exponential, whatever the rework loop does.

Why: a case holds one caseload slot from allocation to closure (the ``_open`` class ranks before
every new referral, so a slot released while moving between stations goes straight back to its
case). Its slot-holding time is a geometric number (mean 1 / (1 - p)) of exponential assessment
passes of mean m, which is exponential with mean m / (1 - p). So with Poisson referrals at rate
lambda the team is M/M/(c k) with service rate mu = (1 - p) / m, FIFO among new referrals:
backlog = L, cases waiting for a slot = Lq, mean time to decision = W, and the share decided
within the deadline is P(Wq + S <= N) with Wq the Erlang C waiting time and S ~ Exp(mu). The
number of assessment passes per decision is 1 / (1 - p).

Only the fast engine is run here (the reference engine is checked against it on the same
contract in tests/differential/); the slot-holding rule is what is being validated.
"""

from __future__ import annotations

import math

from scipy import integrate

from twinsight import theory
from twinsight.casework import CaseworkModel, Team, station
from twinsight.experiment import run_experiment

from ._support import CONFIDENCE, check

LAM, MEAN, P, WORKERS, CASELOAD, DEADLINE = 1.0, 6.0, 0.4, 3, 4, 30.0
# 12 slots, offered load lambda m / (1 - p) = 10 Erlangs: utilisation 0.83 (a real queue).
# 30 replications of 25 000 days after 1 000 days of warm-up (the queue relaxes in a few
# times 1 / (c mu - lambda) = 5 days): 750 000 referrals. Bias allowance 0.5 % of theory
# for the warm-up left and the O(W / T) edge effects of ratios over the window.
REPS, HORIZON, WARMUP, SEED = 30, 26_000.0, 1_000.0, 7


def _model(rework: float) -> CaseworkModel:
    zero = {"dist": "fixed", "value": 0.0}
    return CaseworkModel(
        teams={"t": Team(WORKERS, CASELOAD, ("d",))},
        referrals={"d": [LAM] * 7},
        priority_mix={"d": {"std": 1.0}},
        priorities=("std",),
        triage=zero,
        assessment={"std": {"dist": "exponential", "mean": MEAN}},
        info_wait=zero,
        closure=zero,
        rework={"std": rework},
        deadline_days=DEADLINE,
    )


def _within(q: theory.QueueMetrics, t: float) -> float:
    """P(Wq + S <= t) for M/M/c FIFO: Wq = 0 with prob 1 - C, else Exp(c mu - lambda)."""
    mu, gamma = q.service_rate, q.servers * q.service_rate - q.arrival_rate

    def dens(w: float) -> float:
        return q.p_wait * gamma * math.exp(-gamma * w) * (1.0 - math.exp(-mu * (t - w)))

    tail, _ = integrate.quad(dens, 0.0, t)
    return float((1.0 - q.p_wait) * (1.0 - math.exp(-mu * t)) + tail)


def test_casework_team_is_mmc_with_rework() -> None:
    model = _model(P)
    spec = model.spec(HORIZON, warmup=WARMUP)
    r = run_experiment(spec, reps=REPS, seed=SEED, confidence=CONFIDENCE)
    k = model.kpis(r.per_rep)
    q = theory.mmc(LAM, (1.0 - P) / MEAN, WORKERS * CASELOAD)
    b = 0.005
    check("backlog (L)", k["backlog"], q.in_system_mean, b * q.in_system_mean)
    check("time to decision (W)", k["time_to_decision"], q.sojourn_mean, b * q.sojourn_mean)
    # Lq of M/M/c at 83% load is intrinsically noisy (relative sd ~4x that of L): a 12% guard;
    # the sharp checks of the same run are L and W
    check("waiting for a slot (Lq)", k["allocation_wait"], q.queue_mean, b * q.queue_mean, 0.12)
    share = _within(q, DEADLINE)
    check("decided within the deadline", k["within_deadline"], share, 0.002)
    caseload = (q.in_system_mean - q.queue_mean) / WORKERS  # busy slots = offered load
    check("caseload per worker", k["caseload_per_worker[t]"], caseload, b * caseload)
    passes = (
        r.per_rep[f"served[{station('assess', 't')}]"]
        / r.per_rep[f"served[{station('decide', 't')}]"]
    )
    check("assessment passes per decision", passes, 1.0 / (1.0 - P), 0.002)
