"""Start a 2-rank CPU job (gloo) of a worker script the way torchrun would, for the DDP tests.

Each rank gets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR/PORT and NODE_RANK in its
environment (no variables of an outer launcher, Slurm or a logger leak in) and writes its
result to ``<out>.<rank>`` as JSON.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_FOREIGN = (
    "SLURM_",
    "TORCHELASTIC_",
    "PL_",
    "WANDB_",
    "MLFLOW_",
    "GROUP_RANK",
    "LOCAL_WORLD",
    "ACCELERATE_",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(worker: Path, args: list[str], world: int, extra_env: dict[str, str]) -> list:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
    base = {
        **env,
        "PYTHONPATH": str(ROOT),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
        "WORLD_SIZE": str(world),
        "NODE_RANK": "0",
        "OMP_NUM_THREADS": "1",
        **extra_env,
    }
    return [
        subprocess.Popen(
            [sys.executable, str(worker), *args],
            env={**base, "RANK": str(r), "LOCAL_RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(world)
    ]


def launch(
    worker: Path,
    log_dir: Path,
    out: Path,
    *,
    world: int = 2,
    env: dict[str, str] | None = None,
    timeout_s: float = 180,
) -> list[dict[str, Any]]:
    """Run ``worker log_dir out`` on ``world`` ranks; every rank's result (asserts exit 0).

    A port taken between choosing and binding it: the job runs once more on another.
    """
    for attempt in range(2):
        procs = _start(worker, [str(log_dir), str(out)], world, env or {})
        results = []
        for p in procs:
            try:
                text, _ = p.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                for q in procs:
                    q.kill()
                raise
            results.append((p.returncode, text))
        taken = any(code and "address already in use" in text.lower() for code, text in results)
        if not taken or attempt:
            break
        for f in log_dir.glob("*.jsonl"):
            f.unlink()
    for code, text in results:
        assert code == 0, text[-3000:]
    return [json.loads(Path(f"{out}.{r}").read_text()) for r in range(world)]


def write_result(out: str, integration: Any, rank: int, **extra: Any) -> None:
    """A worker's result (``<out>.<RANK>``): what the DDP tests compare between ranks.

    INTEGRATION is the handler or callback (it has ``summary``, ``record_path`` and
    ``session``); EXTRA adds or replaces fields (e.g. an engine's own metrics).
    """
    result = {
        "rank": rank,
        "record": str(integration.record_path) if integration.record_path else None,
        "it_energy_kwh": integration.summary.it_energy_kwh,
        "prediction": integration.session.prediction.to_dict(),
        **extra,
    }
    if "metrics" not in result:
        result["metrics"] = integration.session.metrics()
    Path(f"{out}.{os.environ['RANK']}").write_text(json.dumps(result))


def one_job_record(log_dir: Path, r0: dict[str, Any], r1: dict[str, Any]) -> Any:
    """The job's one record (rank 0's), finished, with the host measured once: its summary."""
    from lpm.energy import read_run

    records = sorted(log_dir.glob("*.jsonl"))
    assert [p.name for p in records] == [Path(r0["record"]).name]  # one record, rank 0's
    assert r1["record"] is None
    run = read_run(records[0])
    assert run.status == "finished"
    assert sorted(c.kind for c in run.components) == ["cpu", "dram"]  # the host once
    assert run.context["distributed"]["world_size"] == 2
    return run


def one_prediction_note(run: Any, framework: str | None = None, n: int | None = None) -> None:
    """The whole run's prediction is noted once (by rank 0), as ``predicted whole run``."""
    notes = [f for f in run.faults if "predicted whole run" in f]
    assert len(notes) == 1  # noted by rank 0 only
    if framework is not None:
        assert notes[0].startswith(f"predicted whole run ({framework}): {n}")


def same_numbers_on_every_rank(
    r0: dict[str, Any], r1: dict[str, Any], *, metrics: bool = True
) -> None:
    """Every rank ends with the job's energy and prediction (and metrics, where asked)."""
    import pytest

    assert r1["it_energy_kwh"] == pytest.approx(r0["it_energy_kwh"])
    assert r1["prediction"]["energy_kwh_mean"] == pytest.approx(r0["prediction"]["energy_kwh_mean"])
    if metrics:
        for key in ("energy_kwh", "power_w", "co2e_kg", "predicted_kwh"):
            assert r0["metrics"][key] > 0, key
            assert r1["metrics"][key] == pytest.approx(r0["metrics"][key]), key
