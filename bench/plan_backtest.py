"""Replay Let's Wait Awhile's machine-learning scenario on the real 2020 GB and DE series.

Jobs of 4 h to 89.5 h arriving on workdays 9:00-16:30, due by the next workday 9:00 when
they would end outside working hours (lpm.plan.backtest). Each job is placed whole or in
30-minute chunks from three forecasts — perfect foresight (the series itself), lpm's
profile (mean of the same time of day over the 28 days before arrival), and last week's
value — and pays the real intensity. The jobs are those with four weeks of past in the
series, so the three forecasts are judged on the same jobs.

    python bench/plan_backtest.py [--data ../shared/data/timeseries]

Prints a Markdown table, then a JSON object last.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Wiesner et al. (2021), their evaluation notebook: perfect forecasts, all jobs.
THEIRS = {("GB", False): 0.0656, ("DE", False): 0.0591, ("GB", True): 0.0903, ("DE", True): 0.0793}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "timeseries")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from lpm.plan import read_series_csv
    from lpm.plan.backtest import FORECASTS, backtest, lwa_ml_jobs

    rows, out = [], []
    jobs_all = lwa_ml_jobs(2020)
    for region, name in (("GB", "GB_2020.csv"), ("DE", "DE_2020.csv")):
        series = read_series_csv(args.data / name, region=region)
        jobs = [j for j in jobs_all if j.arrival >= series.start + 29 * 86400]
        for interruptible in (False, True):
            t0 = time.perf_counter()
            every = backtest(series, jobs_all, forecast="perfect", interruptible=interruptible)
            found = {
                f: backtest(series, jobs, forecast=f, interruptible=interruptible)
                for f in FORECASTS
            }
            seconds = time.perf_counter() - t0
            how = "interruptible" if interruptible else "whole"
            theirs = THEIRS[(region, interruptible)]
            rows.append(
                f"| {region} | {how} | {theirs:.2%} | {every.saving:.2%} ({every.jobs}) | "
                + " | ".join(f"{found[f].saving:.2%}" for f in FORECASTS)
                + f" | {len(jobs)} | {seconds:.1f} s |"
            )
            out.append(
                {
                    "region": region,
                    "interruptible": interruptible,
                    "theirs_perfect": theirs,
                    "perfect_all_jobs": every.saving,
                    **{f: found[f].saving for f in FORECASTS},
                    "jobs": len(jobs),
                }
            )
    print(
        "| series | jobs | Wiesner et al. (perfect) | lpm perfect, all jobs (n) | "
        "perfect | profile (28 d) | last week | jobs compared | time |"
    )
    print("| --- " * 9 + "|")
    print("\n".join(rows))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
