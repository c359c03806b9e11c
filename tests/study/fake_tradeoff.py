"""A stand-in for the sweep (lpm.study.tradeoff.run_tradeoff): writes a real summary at
once and notes each call. Module-level so that spawned workers and Slurm jobs import it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.results.tradeoff_factory import make_run, make_summary

from lpm.results import TradeoffSummary, read_quality_record, write_summary

FAIL_ENV = "LPM_FAKE_SWEEP_FAIL"
CALLS = "sweep-calls.jsonl"


def fake_sweep(
    runs: list[Path], out: Path, sweep: Any, *, progress: bool = True, meters: Any = None
) -> TradeoffSummary:
    """Note the call in DIR/sweep-calls.jsonl (runs, the sweep's settings, whether the
    quality stage had finished); fail where FAIL_ENV is set; else write a summary."""
    study = Path(out).parent
    call = {
        "runs": [str(r) for r in runs],
        "sweep": sweep.model_dump(mode="json"),
        "progress": progress,
        "quality_done": read_quality_record(study) is not None,
        "pid": os.getpid(),
    }
    with open(study / CALLS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(call) + "\n")
    if os.environ.get(FAIL_ENV):
        raise RuntimeError("simulated failure of the sweep")
    labels = [Path(r).name for r in runs]
    summary = make_summary(
        runs=[make_run(Path(r).name).model_copy(update={"path": str(r)}) for r in runs],
        reference=f"{labels[0]}/ddpm-1000-b1",
        within=[f"{labels[0]}/ddpm-1000-b1", f"{labels[0]}/ddim-50-b16"],
        recommended=f"{labels[0]}/ddim-50-b16",
        tolerance=sweep.tolerance,
    )
    write_summary(out, summary)
    return summary


def sweep_calls(study: Path) -> list[dict]:
    path = study / CALLS
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
