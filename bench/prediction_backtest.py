"""Prediction backtest: lpm's predictions from the first 1-10 % of a run against the whole run.

Trains and samples LONG runs of the 2D "small" LDM at 32² on phantom data, on this machine,
and checks the predictions lpm's study would make from short measurements against them:

- Training: a long ``train_ldm`` run of N iterations is the actual (its "train" window: the
  IT energy of the training iterations, checkpoints excluded, as the prediction claims).
  For each fraction f, a separate short ``train_ldm`` run of ``warm-up + f × N`` iterations
  (same seed and autoencoder, so the very same first iterations) gives the StepStats that
  ``lpm.energy.predict`` turns into N iterations, exactly as the study's short measurement
  does (``lpm.study.measure`` / ``records``).
- Synthesis: a long ``sample_ldm`` run of M samples of S denoising steps (batch 1) is the
  actual (its "sample_batch" windows: noise, denoising and decoding of every sample). For
  each fraction f, a short run of ``warm-up + f × M`` samples gives the per-step StepStats
  and the fixed per-sample cost that ``lpm.energy.predict_synthesis`` turns into M samples.

For each prediction: error % = 100 × (predicted − actual) / actual, and whether the actual
lies inside the predicted 95 % interval (``Prediction.ci95_kwh``). The short runs run
before the long ones, as a real prediction precedes the run it predicts.

    .venv/bin/python bench/prediction_backtest.py                      # full (~25-35 min)
    .venv/bin/python bench/prediction_backtest.py --iterations 200 --samples 20 --steps 10 \\
        --no-write                                                      # smoke test

Writes ``src/lpm/report/data/prediction_backtest.json`` (the report quotes it; ``--no-write``
or ``--json-out PATH`` to change), prints one line per run, a Markdown table and a JSON
object last.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "src" / "lpm" / "report" / "data" / "prediction_backtest.json"
SCHEMA = 1
J_PER_KWH = 3.6e6
FRACTIONS = (0.01, 0.02, 0.05, 0.10)


# ---------------------------------------------------------------- pure functions


def error_pct(predicted: float, actual: float) -> float:
    """100 × (predicted − actual) / actual (nan when the actual is not positive)."""
    if not actual > 0:
        return math.nan
    return 100.0 * (predicted - actual) / actual


def inside(interval: Sequence[float], value: float) -> bool:
    """Whether ``value`` lies in the closed interval [lo, hi]."""
    lo, hi = interval
    return float(lo) <= value <= float(hi)


def prefix_count(fraction: float, total: int) -> int:
    """Units (iterations, samples) measured for the first ``fraction`` of ``total``: >= 1."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    return max(1, round(fraction * total))


def point(
    fraction: float,
    measured: int,
    warmup: int,
    prediction: Any,
    actual_kwh: float,
) -> dict[str, Any]:
    """One backtested prediction as the data file stores it (``from`` entries)."""
    lo, hi = (float(v) for v in prediction.ci95_kwh)
    predicted = float(prediction.energy_kwh_mean)
    half_pct = 100.0 * (hi - lo) / 2 / predicted if predicted > 0 else math.nan
    return {
        "fraction": fraction,
        "measured": measured,
        "warmup": warmup,
        "predicted_kwh": predicted,
        "predicted_kwh_std": float(prediction.energy_kwh_std),
        "ci95_kwh": [lo, hi],
        "ci95_half_pct": half_pct,
        "error_pct": error_pct(predicted, actual_kwh),
        "inside_ci95": inside((lo, hi), actual_kwh),
        "inside_std": abs(predicted - actual_kwh) <= float(prediction.energy_kwh_std),
        "predicted_duration_s": float(prediction.duration_s_mean),
    }


def block_spread_pct(
    checkpoints: Sequence[tuple[float, int, float]], fraction: float
) -> float | None:
    """Spread (relative std, %) of the energy per step over blocks of ``fraction`` of a run.

    ``checkpoints`` are (elapsed_s, steps_total, energy_j_total) of a run record's periodic
    lines, in order. The run is cut into consecutive blocks of about ``fraction`` of its
    steps (at least one interval between two lines); the result is the sample std of the
    blocks' energy per step divided by the whole run's: how far a prediction from one such
    block, taken anywhere in the run, would typically land from the run's mean. None with
    fewer than 3 blocks.
    """
    rows = list(checkpoints)
    while len(rows) > 1 and rows[1][1] == rows[0][1]:  # from the last line before any step
        rows.pop(0)
    if len(rows) < 2:
        return None
    total_steps = rows[-1][1] - rows[0][1]
    if total_steps <= 0:
        return None
    want = max(fraction * total_steps, 1.0)
    blocks: list[float] = []
    start = rows[0]
    for row in rows[1:]:
        steps = row[1] - start[1]
        if steps >= want:
            blocks.append((row[2] - start[2]) / steps)
            start = row
    if len(blocks) < 3:
        return None
    mean = (rows[-1][2] - rows[0][2]) / total_steps
    m = sum(blocks) / len(blocks)
    var = sum((b - m) ** 2 for b in blocks) / (len(blocks) - 1)
    return 100.0 * math.sqrt(var) / mean if mean > 0 else None


def batch_means_half_pct(
    checkpoints: Sequence[tuple[float, int, float]], skip_steps: int = 0
) -> float | None:
    """Half-width (% of the mean) of a batch-means 95 % interval of the energy per step.

    The blocks are the intervals between a run record's periodic lines (after the first
    ``skip_steps`` steps, the warm-up): t(0.975, B−1) × std of the blocks' energy per step
    / √B, relative to the mean. Unlike σ/√K over K steps, this widens when consecutive steps
    are correlated (load phases). None with fewer than 3 blocks.
    """
    from lpm.energy._stats import t_quantile_975

    rows = [c for c in checkpoints if c[1] >= skip_steps]
    blocks = [(b[2] - a[2]) / (b[1] - a[1]) for a, b in itertools.pairwise(rows) if b[1] > a[1]]
    if len(blocks) < 3:
        return None
    mean = (rows[-1][2] - rows[0][2]) / (rows[-1][1] - rows[0][1])
    m = sum(blocks) / len(blocks)
    sd = math.sqrt(sum((v - m) ** 2 for v in blocks) / (len(blocks) - 1))
    half = t_quantile_975(len(blocks) - 1) * sd / math.sqrt(len(blocks))
    return 100.0 * half / mean if mean > 0 else None


def add_batch_means(p: dict[str, Any], half_pct: float | None, actual_kwh: float) -> None:
    """Add the batch-means interval's half-width and whether it holds the actual to ``p``."""
    p["batch_means_ci95_half_pct"] = half_pct
    p["inside_batch_means_ci95"] = (
        None
        if half_pct is None
        else abs(p["predicted_kwh"] - actual_kwh) <= half_pct / 100 * p["predicted_kwh"]
    )


def markdown_table(data: dict[str, Any]) -> str:
    """The RESULTS.md table of a backtest (one row per phase and fraction)."""
    lines = [
        "| phase | from the first | measured | predicted kWh ± std | 95 % interval, kWh "
        "| actual kWh | error | inside 95 %? | inside ± std? | batch-means 95 % |",
        "| --- | ---: | ---: | --- | --- | ---: | ---: | :---: | :---: | --- |",
    ]
    for phase, run in data["runs"].items():
        for p in run["from"]:
            lo, hi = p["ci95_kwh"]
            lines.append(
                f"| {phase} | {100 * p['fraction']:g} % | {p['measured']} {run['unit']} "
                f"(+{p['warmup']} warm-up) | {p['predicted_kwh']:.4g} ± "
                f"{p['predicted_kwh_std']:.2g} | [{lo:.4g}, {hi:.4g}] "
                f"(±{p['ci95_half_pct']:.2g} %) | {run['actual_kwh']:.4g} "
                f"| {p['error_pct']:+.2f} % | {'yes' if p['inside_ci95'] else '**no**'} "
                f"| {'yes' if p['inside_std'] else 'no'} | {_batch_means_cell(p)} |"
            )
    return "\n".join(lines)


def _batch_means_cell(p: dict[str, Any]) -> str:
    half = p.get("batch_means_ci95_half_pct")
    if half is None:
        return "n/a (< 3 blocks)"
    return f"±{half:.2g} %: {'yes' if p['inside_batch_means_ci95'] else '**no**'}"


# ---------------------------------------------------------------- machine


def machine() -> str:
    """CPU model, logical CPUs and whether it is a VM (from /proc/cpuinfo)."""
    from lpm.energy.estimated import cpu_model_name

    model = cpu_model_name() or platform.processor() or platform.machine()
    vm = ""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
        vm = ", VM" if " hypervisor" in flags else ""
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs{vm}, {platform.system()}"


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return math.nan


def _checkpoints(record: str | None) -> list[tuple[float, int, float]]:
    """(elapsed_s, steps_total, energy_j_total) of a run record's periodic lines."""
    if not record:
        return []
    from lpm.energy.record import read_lines

    lines, _ = read_lines(Path(record))
    out = []
    for line in lines:
        if line.get("type") in ("checkpoint", "window") and "totals_j" in line:
            out.append(
                (
                    float(line["elapsed_s"]),
                    int(line["steps_total"]),
                    float(sum(line["totals_j"].values())),
                )
            )
    return sorted(out)


def _record(result: Any) -> str | None:
    """The run record of a training or sampling result."""
    return (result.extra or {}).get("run_record")


def _provenance(result: Any) -> str:
    from lpm.provenance import Provenance

    value = getattr(result, "provenance", None)
    return str(Provenance.parse(value if value is not None else result.estimated))


# ---------------------------------------------------------------- runs


def _train(args: argparse.Namespace, out: Path, iterations: int, warmup: int, ae: Path) -> Any:
    from lpm.ldm import TrainConfig, train_ldm

    cfg = TrainConfig(
        dims=2,
        size=(args.size, args.size),
        model=args.model,
        data="phantom",
        iterations=iterations,
        warmup_iterations=warmup,
        batch_size=args.batch_size,
        autoencoder=str(ae),
        out=str(out),
        seed=args.seed,
        interval_s=args.interval_s,
        validation_samples=0,
        progress=False,
    )
    return train_ldm(cfg)


def _sample(args: argparse.Namespace, run: Path, out: Path, n: int, warmup: int) -> Any:
    from lpm.ldm import SampleConfig, sample_ldm

    cfg = SampleConfig(
        run=str(run),
        n=n,
        steps=args.steps,
        warmup_steps=warmup * args.steps,
        sampler=args.sampler,
        batch_size=1,
        out=str(out),
        seed=args.seed,
        interval_s=args.interval_s,
        png=False,
        progress=False,
    )
    return sample_ldm(cfg)


def _log(msg: str) -> None:
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {msg}", flush=True)


def _short_point(
    short: tuple, warm: int, actual_kwh: float, checkpoints: list, *, skip_steps: int
) -> dict[str, Any]:
    """One prediction from a short run, checked against the long run's measured total."""
    f, k, pred, res, short_wall, short_load = short
    p = point(f, k, warm, pred, actual_kwh)
    p["run_wall_s"] = short_wall
    p["load_average_1m"] = short_load
    p["power_samples"] = res.step_stats.power_samples
    p["block_spread_pct"] = block_spread_pct(checkpoints, f)
    add_batch_means(p, batch_means_half_pct(_checkpoints(_record(res)), skip_steps), actual_kwh)
    return p


def backtest_training(args: argparse.Namespace, work: Path, ae: Path) -> tuple[dict, Path]:
    """Short runs of the first fractions, then the long run; returns the data and its dir."""
    from lpm.energy import predict

    n = args.iterations
    warm = args.warmup_iterations
    shorts = []
    for f in args.fractions:
        k = prefix_count(f, n)
        t0, load0 = time.monotonic(), _load()
        res = _train(args, work / f"train_{k}", warm + k, warm, ae)
        pred = predict(res.step_stats, n)
        shorts.append((f, k, pred, res, time.monotonic() - t0, load0))
        _log(
            f"train short {warm}+{k} it: {res.step_stats.energy_j_mean:.4f} J/it, "
            f"{res.step_stats.duration_s_mean * 1e3:.1f} ms/it -> {pred.energy_kwh_mean:.4g} kWh"
        )
    t0, load0 = time.monotonic(), _load()
    long = _train(args, work / "train_long", n, 0, ae)
    wall = time.monotonic() - t0
    actual_j = long.energy_per_iteration_j * long.iterations
    actual_kwh = actual_j / J_PER_KWH
    _log(f"train long {n} it: {actual_kwh:.4g} kWh in {long.duration_s:.0f} s")
    checkpoints = _checkpoints(_record(long))
    points = [_short_point(s, warm, actual_kwh, checkpoints, skip_steps=warm) for s in shorts]
    self_pred = predict(long.step_stats, n)
    data = {
        "setup": f"2D {args.model} {args.size}², batch {args.batch_size}",
        "unit": "iterations",
        "target": n,
        "actual_kwh": actual_kwh,
        "provenance": _provenance(long),
        "actual_duration_s": _window_s(long, "train"),
        "run_it_energy_kwh": float(long.it_energy_kwh),
        "run_wall_s": wall,
        "load_average_1m": load0,
        "threads": args.threads,
        "from": points,
        "self_check": point(1.0, n, 0, self_pred, actual_kwh),
    }
    return data, work / "train_long"


def _window_s(result: Any, window: str) -> float | None:
    """Duration of a window of the result's run (from its record), None when unknown."""
    record = _record(result)
    if not record:
        return None
    from lpm.energy import read_run

    info = read_run(record).windows.get(window) or {}
    return float(info["duration_s"]) if "duration_s" in info else None


def _predict_synthesis(res: Any, steps: int, samples: int) -> Any:
    """The study's synthesis prediction (``lpm.study.records.synthesis_part``) from a run."""
    from lpm.energy import predict_synthesis

    return predict_synthesis(
        res.step_stats,
        steps=steps,
        samples=samples,
        fixed_j_mean=res.fixed_per_sample_j_mean,
        fixed_j_std=res.fixed_per_sample_j_std,
        fixed_s_mean=res.fixed_per_sample_s_mean,
        fixed_s_std=res.fixed_per_sample_s_std,
        fixed_count=res.samples_measured,
        fixed_provenance=res.provenance,
    )


def backtest_synthesis(args: argparse.Namespace, work: Path, run: Path) -> dict:
    """Short sampling runs of the first fractions, then the long one."""
    m = args.samples
    warm = args.warmup_samples
    shorts = []
    for f in args.fractions:
        k = prefix_count(f, m)
        t0, load0 = time.monotonic(), _load()
        res = _sample(args, run, work / f"sample_{k}", warm + k, warm)
        pred = _predict_synthesis(res, args.steps, m)
        shorts.append((f, k, pred, res, time.monotonic() - t0, load0))
        _log(
            f"sample short {warm}+{k} x {args.steps} steps: "
            f"{res.step_stats.energy_j_mean:.4f} J/step, fixed "
            f"{res.fixed_per_sample_j_mean:.3f} J/sample -> {pred.energy_kwh_mean:.4g} kWh"
        )
    t0, load0 = time.monotonic(), _load()
    long = _sample(args, run, work / "sample_long", m, 0)
    wall = time.monotonic() - t0
    actual_kwh = long.energy_per_sample_j * long.samples / J_PER_KWH
    _log(f"sample long {m} x {args.steps} steps: {actual_kwh:.4g} kWh in {long.duration_s:.0f} s")
    checkpoints = _checkpoints(_record(long))
    points = []
    for short in shorts:
        p = _short_point(short, warm, actual_kwh, checkpoints, skip_steps=warm * args.steps)
        _, _, pred, res, _, _ = short
        p["fixed_per_sample_j_mean"] = res.fixed_per_sample_j_mean
        p["fixed_per_sample_j_std"] = res.fixed_per_sample_j_std
        p["predicted_fixed_kwh"] = float(pred.fixed_energy_j_mean) / J_PER_KWH
        points.append(p)
    return {
        "setup": f"2D {args.model} {args.size}², {args.sampler} {args.steps} steps, batch 1",
        "unit": "samples",
        "target": m,
        "steps": args.steps,
        "actual_kwh": actual_kwh,
        "provenance": _provenance(long),
        "actual_duration_s": _window_s(long, "sample_batch"),
        "run_it_energy_kwh": float(long.it_energy_kwh),
        "run_wall_s": wall,
        "load_average_1m": load0,
        "threads": args.threads,
        "fixed_per_sample_share": long.fixed_per_sample_share,
        "from": points,
        "self_check": point(1.0, m, 0, _predict_synthesis(long, args.steps, m), actual_kwh),
    }


def _autoencoder(args: argparse.Namespace, work: Path) -> Path:
    from lpm.ldm import AutoencoderConfig, train_autoencoder

    out = work / "autoencoder"
    train_autoencoder(
        AutoencoderConfig(
            dims=2,
            size=(args.size, args.size),
            data="phantom",
            iterations=args.autoencoder_iterations,
            batch_size=2,
            out=out,
            seed=args.seed,
            channels=32,
            progress=False,
        )
    )
    return out


def _fractions(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text}") from None
    if not values or any(not 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError("fractions must lie in (0, 1], e.g. 0.01,0.02,0.05,0.1")
    return values


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=12_000, help="long training run")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--samples", type=int, default=200, help="long sampling run")
    parser.add_argument("--steps", type=int, default=200, help="denoising steps per sample")
    parser.add_argument("--sampler", default="ddim")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--model", default="small")
    parser.add_argument("--fractions", type=_fractions, default=FRACTIONS)
    parser.add_argument("--warmup-iterations", type=int, default=10)
    parser.add_argument("--warmup-samples", type=int, default=1)
    parser.add_argument("--autoencoder-iterations", type=int, default=100)
    parser.add_argument("--interval-s", type=float, default=1.0, help="energy sampling interval")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("training", "synthesis"), default=None)
    parser.add_argument("--work", type=Path, default=None, help="keep the runs in this folder")
    parser.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--no-write", action="store_true", help="do not write the data file")
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    args.threads = torch.get_num_threads()
    started = time.monotonic()
    load0 = _load()
    work = args.work or Path(tempfile.mkdtemp(prefix="lpm-backtest-"))
    work.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Any] = {}
    try:
        ae = _autoencoder(args, work)
        train_dir = None
        if args.only in (None, "training"):
            runs["training"], train_dir = backtest_training(args, work, ae)
        if args.only in (None, "synthesis"):
            if train_dir is None:  # a model to sample from: a short run is enough
                train_dir = work / "train_for_sampling"
                _train(args, train_dir, 20, 0, ae)
            runs["synthesis"] = backtest_synthesis(args, work, train_dir)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    command = "python bench/prediction_backtest.py"
    if len(argv if argv is not None else sys.argv[1:]):
        command += " " + shlex.join(argv if argv is not None else sys.argv[1:])
    data = {
        "schema": SCHEMA,
        "machine": machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "command": command,
        "torch": torch.__version__,
        "runtime_s": time.monotonic() - started,
        "load_average_1m": {"start": load0, "end": _load()},
        "runs": runs,
    }
    print(markdown_table(data), flush=True)
    if not args.no_write:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        _log(f"wrote {args.json_out}")
    print(json.dumps(data), flush=True)
    return data


if __name__ == "__main__":
    main()
