"""Optimisation benchmark: the bundled problems, how many decisions and replications the search
simulated, and how long it took (in this process; the fast engine's cache already warm).

    python benchmarks/optimise.py

The last line of the output is one JSON object. See docs/optimise.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from twinsight import theory  # noqa: E402
from twinsight.optimise import base_spec, load_problem, optimise, spec_builder  # noqa: E402

PROBLEMS = ("erlang_c_staffing", "hospital_beds")


def main() -> None:
    out: dict[str, Any] = {}
    for name in PROBLEMS:
        path = ROOT / "examples" / "optimise" / f"{name}.yaml"
        problem = load_problem(path)
        spec_for = spec_builder(problem, base_spec(problem, str(path)), str(path))
        start = time.perf_counter()
        result = optimise(problem, spec_for)
        seconds = time.perf_counter() - start
        row = {
            "status": result.status,
            "decision": None if result.best is None else result.best.decision,
            "simulated": len(result.evaluations),
            "lattice": result.lattice,
            "replications": sum(e.reps for e in result.evaluations),
            "seconds": round(seconds, 2),
        }
        print(f"{name}: {row['status']} {row['decision']}; {row['simulated']} of "
              f"{row['lattice']} decisions simulated, {row['replications']} replications, "
              f"{seconds:.1f} s")  # fmt: skip
        out[name] = row
    # the exact answer of the staffing problem (Erlang C): the least c with P(Wq <= 20 s) >= 0.8
    exact = next(c for c in range(6, 16) if theory.mmc_wait_cdf(1 / 3, 1.0, 0.2, c) >= 0.8)
    print(f"Erlang C: {exact} agents")
    out["erlang_c_exact"] = exact
    print(json.dumps(out))


if __name__ == "__main__":
    main()
