"""A training run resumed in a new process is measured over every segment it ran in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lpm.energy import StepStats, pool_step_stats
from lpm.ldm import checkpoint as ckpt
from lpm.provenance import Provenance
from tests.ldm.helpers import set_threads, tiny_autoencoder, tiny_ldm


def _stats(durations: np.ndarray, power: float, power_std: float, **kw) -> StepStats:
    return StepStats.from_parts(
        count=len(durations),
        duration_s_mean=float(durations.mean()),
        duration_s_std=float(durations.std(ddof=1)),
        power_w_mean=power,
        power_w_std=power_std,
        **kw,
    )


def test_pooled_durations_are_those_of_all_steps_together() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.2, 0.01, 40), rng.normal(0.3, 0.02, 25)  # the second on a slower node
    pooled = pool_step_stats([_stats(a, 100.0, 2.0), _stats(b, 100.0, 2.0)])
    both = np.concatenate([a, b])
    assert pooled.count == 65
    assert pooled.duration_s_mean == pytest.approx(both.mean(), rel=1e-12)
    assert pooled.duration_s_std == pytest.approx(both.std(ddof=1), rel=1e-12)
    assert pooled.power_w_mean == pytest.approx(100.0)
    assert pooled.energy_j_mean == pytest.approx(100.0 * both.mean())


def test_pooled_power_is_weighted_by_stepping_time_and_spreads_with_the_parts() -> None:
    one = _stats(np.full(10, 1.0), 100.0, 0.0, power_samples=5)
    two = _stats(np.full(10, 3.0), 200.0, 0.0, power_samples=7, provenance="measured")
    pooled = pool_step_stats([one, two])
    assert pooled.power_w_mean == pytest.approx((10 * 100 + 30 * 200) / 40)  # 175 W
    assert pooled.power_w_std == pytest.approx(np.sqrt((10 * 75**2 + 30 * 25**2) / 40))
    assert pooled.power_samples == 12
    assert pooled.provenance == Provenance.combine([one.provenance, two.provenance])


def test_a_part_that_measured_nothing_is_left_out_and_none_at_all_is_an_error() -> None:
    one = _stats(np.array([1.0, 1.2, 0.8]), 50.0, 1.0, warmup_steps=2)
    empty = StepStats.from_parts(
        count=0, duration_s_mean=0, duration_s_std=0, power_w_mean=0, power_w_std=0,
        warmup_steps=2,
    )  # fmt: skip
    pooled = pool_step_stats([one, empty])
    assert (pooled.count, pooled.duration_s_mean, pooled.power_w_mean) == (3, 1.0, 50.0)
    assert pooled.warmup_steps == 4  # each segment's own warm-up was left out
    with pytest.raises(ValueError, match="no part measured"):
        pool_step_stats([empty])


def test_a_resumed_run_pools_its_segments(tmp_path: Path, ae2d: Path) -> None:
    """Run to 4 iterations, then resume to 8 (as after a kill at a checkpoint): the result's
    statistics are those of both processes' measured steps, each without its warm-up."""
    set_threads()
    run = tmp_path / "run"
    tiny_ldm(run, ae2d, iterations=4, checkpoint_every=2, warmup_iterations=1)
    state = ckpt.load(run / "checkpoints" / ckpt.LAST)
    (first,) = state["segments"]
    assert (first["start"], first["end"], first["step_stats"]["count"]) == (0, 4, 3)
    one = json.loads((run / "summary.json").read_text())

    tiny_ldm(run, ae2d, iterations=8, checkpoint_every=2, warmup_iterations=1)
    two = json.loads((run / "summary.json").read_text())
    assert two["resumed_from"] == 4 and two["iterations"] == 4
    assert two["segments"] == [
        {"start": 0, "end": 4, "measured_steps": 3},
        {"start": 4, "end": 8, "measured_steps": 3},
    ]
    assert two["step_stats"]["count"] == 6 and two["step_stats"]["warmup_steps"] == 2
    segs = ckpt.load(run / "checkpoints" / ckpt.LAST)["segments"]
    assert [(s["start"], s["end"]) for s in segs] == [(0, 4), (4, 8)]
    assert segs[0]["step_stats"] == first["step_stats"]  # carried over as it was
    both = pool_step_stats([StepStats.from_dict(s["step_stats"]) for s in segs])
    assert two["step_stats"]["duration_s_mean"] == pytest.approx(both.duration_s_mean)
    assert two["step_stats"]["energy_j_mean"] == pytest.approx(both.energy_j_mean)
    assert one["step_stats"]["count"] == 3


def test_a_run_in_one_process_has_one_segment(tmp_path: Path, ae2d: Path) -> None:
    set_threads()
    run = tiny_ldm(tmp_path / "run", ae2d, iterations=3, checkpoint_every=2)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["segments"] == [{"start": 0, "end": 3, "measured_steps": 3}]
    assert summary["step_stats"]["count"] == 3


def test_a_resumed_autoencoder_run_pools_its_segments(tmp_path: Path) -> None:
    set_threads()
    run = tmp_path / "ae"
    tiny_autoencoder(run, iterations=2, checkpoint_every=2)
    tiny_autoencoder(run, iterations=4, checkpoint_every=2)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["resumed_from"] == 2
    assert [row["start"] for row in summary["segments"]] == [0, 2]
    assert summary["step_stats"]["count"] == 4
