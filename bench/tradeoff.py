"""What a sample costs and what it is worth: the energy–quality sweep of issue 11, side by side.

Two twins trained on the same autoencoder, data, settings and budget — the DDPM-schedule
objective (v-prediction, MSE) and rectified flow — then one `lpm.study.tradeoff` sweep over
both in one run: every sampler that fits each model × steps × batch, energy per sample
(fixed + per step, measured) and quality (lpm.quality against held-out phantoms).

    python bench/tradeoff.py --autoencoder AE_DIR --out /tmp/bt --train   # trains both twins
    python bench/tradeoff.py --runs /tmp/bt/ddpm /tmp/bt/rflow --out /tmp/bt

With --train the twins train at the same time, one thread each, so both see the same
machine. Prints a Markdown table, then a JSON object (the summary) last.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _train(args: argparse.Namespace) -> list[Path]:
    procs, runs = [], []
    for objective in ("ddpm", "rflow"):
        out = args.out / objective
        runs.append(out)
        cmd = [
            str(Path(sys.executable).parent / "lpm"), "train", "--dims", "2",
            "--size", str(args.size),
            "--model", "small", "--objective", objective, "--autoencoder", str(args.autoencoder),
            "--iterations", str(args.iterations), "--batch-size", "16", "--lr", "3e-4",
            "--n-items", str(args.n_items), "--seed", "0", "--cache-latents-mb", "256",
            "--checkpoint-every", str(args.iterations), "--validation-samples", "0",
            "--no-progress", "--out", str(out),
        ]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        procs.append(subprocess.Popen(cmd, env=env))
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"training failed: {p.args}")
    return runs


def _row(p, summary) -> str:
    q = p.quality
    mark = " **rec.**" if p.point_id == summary.recommended else ""
    mark += " ref." if p.point_id == summary.reference else ""

    def v(name: str, fmt: str) -> str:
        m = q.get(name)
        return "—" if m is None else f"{m.value:{fmt}} [{m.ci_low:{fmt}}, {m.ci_high:{fmt}}]"

    within = "yes" if p.point_id in summary.within else "no"
    return (
        f"| {p.run} | {p.sampler} | {p.steps} | {p.batch_size} | "
        f"{p.energy_per_sample_j_mean:.3g} | {p.synthesis_co2e_kg:.3g} | "
        f"{v('hu_wasserstein', '.1f')} | {v('tissue_fraction_l1', '.3f')} | "
        f"{v('frechet_distance', '.2e')} | {v('ms_ssim', '.3f')} | "
        f"{'—' if p.copy_rate is None else f'{p.copy_rate:.3f}'} | {within}{mark} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="*", type=Path, default=[])
    ap.add_argument("--train", action="store_true", help="train the two twins first")
    ap.add_argument("--autoencoder", type=Path)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=3000)
    ap.add_argument("--n-items", type=int, default=256)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", default="1000,200,50,20,10")
    ap.add_argument("--batches", default="1,4,16")
    ap.add_argument("--samples", type=int, default=64)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from lpm.energy.cpu_model import cpu_model_name
    from lpm.study.tradeoff import run_tradeoff, sweep_from

    started = time.time()
    runs = _train(args) if args.train else args.runs
    sweep = sweep_from(
        steps=[int(s) for s in args.steps.split(",")],
        batches=[int(b) for b in args.batches.split(",")],
        quality_samples=args.samples,
    )
    t0 = time.perf_counter()
    summary = run_tradeoff(runs, args.out / "sweep", sweep, progress=True)
    sweep_s = time.perf_counter() - t0
    from lpm.results import read_tradeoff

    points, _ = read_tradeoff(args.out / "sweep")
    print(f"machine: {cpu_model_name()}, {os.cpu_count()} cores; sweep {sweep_s:.0f} s")
    print(
        "| run | sampler | steps | batch | J/sample | kg CO2e / 10 000 | HU W1 | tissue L1 | "
        "Fréchet | MS-SSIM | copy rate | within 5 % |"
    )
    print("| --- " * 12 + "|")
    for p in sorted(points, key=lambda p: (p.run, p.sampler, -p.steps, p.batch_size)):
        if p.ok:
            print(_row(p, summary))
        else:
            print(f"| {p.run} | {p.sampler} | {p.steps} | {p.batch_size} | failed: {p.error} |")
    result = summary.model_dump(mode="json")
    result["sweep_s"] = sweep_s
    result["total_s"] = time.time() - started
    print(json.dumps(result))


if __name__ == "__main__":
    main()
