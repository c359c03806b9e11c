"""CLI start-up: lpm.ldm imported lazily (A) against what its eager __init__ imported (B).

Every `lpm` command builds its flags from lpm.ldm's configs; the eager package imported torch
and MONAI for that. Interleaved A/B rounds in fresh processes, then `lpm plan` end to end.

    python bench/cli_startup.py [--rounds 5]

Prints one line per round, then a JSON object last (medians and the ratio).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

A = "from lpm.cli.main import app"
B = "import lpm.ldm.autoencoder, lpm.ldm.diffusion, lpm.ldm.sampling; " + A
PLAN = ["plan", "--kwh", "100", "--hours", "8", "--region", "DE", "--within", "48h"]


def _wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    lpm = str(Path(sys.executable).parent / "lpm")
    a, b, plan = [], [], []
    for k in range(args.rounds):
        a.append(_wall([sys.executable, "-c", A]))
        b.append(_wall([sys.executable, "-c", B]))
        plan.append(_wall([lpm, *PLAN]))
        print(f"round {k}: lazy {a[-1]:.2f} s, eager {b[-1]:.2f} s, lpm plan {plan[-1]:.2f} s")
    result = {
        "lazy_import_s": statistics.median(a),
        "eager_import_s": statistics.median(b),
        "eager_over_lazy": statistics.median(b) / statistics.median(a),
        "lpm_plan_s": statistics.median(plan),
        "rounds": args.rounds,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
