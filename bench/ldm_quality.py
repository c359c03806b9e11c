"""Do lpm's LDMs learn? Train on phantoms within a CPU budget, sample, and measure quality.

Trains, on this machine, a VQ-GAN autoencoder and a diffusion UNet on the built-in
phantoms (``lpm.ldm``), samples from the trained UNet and from an untrained one (one
iteration: the ceiling), and measures both with ``lpm.quality`` against held-out phantoms,
next to the floor: held-out phantoms of another seed measured the same way (real vs real,
the same numbers of images). For each fidelity metric the gap closed is
(ceiling − trained) / (ceiling − floor); the issue's target is ≥ 0.8 on every one, and a
sampled-latent std within 20 % of the training latents'. The "autoencoder recon vs real"
column is the floor's phantoms encoded and decoded by the autoencoder: about the best a
diffusion model on that autoencoder can do (in brackets after the gap closed: its gap).

With ``--few N`` a second UNet is trained on only N training images, with the same
recipe, to show the copy check: it should copy, the model trained on many should not.

    .venv/bin/python bench/ldm_quality.py                                 # 2D 64² (~12 min)
    .venv/bin/python bench/ldm_quality.py --dims 3 --size 32 --ae-iterations 5000 \\
        --ae-batch-size 8 --ae-patch-size 16 --ae-channels 32 --ae-adv-weight 0 \\
        --iterations 2000 --batch-size 8 --n-items 128 \\
        --montage bench/ldm_quality_3d.png                              # 3D 32³ (~16 min)
    .venv/bin/python bench/ldm_quality.py --dims 3 --size 32 --ae-only ...   # screen an AE
    .venv/bin/python bench/ldm_quality.py --ae-iterations 20 --iterations 20 --samples 16 \\
        --n-items 16 --no-montage                                       # smoke test

Prints one line per stage, a Markdown table and a JSON object last.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIDELITY = ("hu_wasserstein", "tissue_fraction_l1", "frechet_distance", "mmd")
OTHER = ("ms_ssim", "copy_rate", "copy_rate_features")


def gap_closed(ceiling: float, trained: float, floor: float) -> float | None:
    """(ceiling − trained) / (ceiling − floor): 1 = as good as real data, 0 = untrained."""
    if not np.isfinite([ceiling, trained, floor]).all() or ceiling == floor:
        return None
    return (ceiling - trained) / (ceiling - floor)


def _log(msg: str) -> None:
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> str:
    """CPU model, logical CPUs and OS (the CPU model as lpm's estimator reads it)."""
    import os

    from lpm.energy.estimated import cpu_model_name

    cpu = cpu_model_name() or platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def _train_autoencoder(args: argparse.Namespace, work: Path) -> Path:
    from lpm.ldm import AutoencoderConfig, train_autoencoder

    out = work / "autoencoder"
    if (out / "autoencoder.pt").is_file():  # a finished one from an earlier run of --work
        _log(f"autoencoder: reusing {out}")
        return out
    cfg = AutoencoderConfig(
        dims=args.dims,
        size=args.size,
        iterations=args.ae_iterations,
        batch_size=args.ae_batch_size,
        channels=args.ae_channels,
        latent_channels=args.ae_latent_channels,
        lr=args.ae_lr,
        adv_weight=args.ae_adv_weight,
        adv_warmup_iterations=args.ae_adv_warmup,
        num_embeddings=args.ae_num_embeddings,
        patch_size=args.ae_patch_size,
        n_items=args.n_items,
        seed=args.seed,
        out=out,
        progress=False,
    )
    t0 = time.perf_counter()
    result = train_autoencoder(cfg)
    _log(
        f"autoencoder: {args.ae_iterations} it, {time.perf_counter() - t0:.0f} s, "
        f"recon L1 {result.recon_l1_first:.3f} -> {result.recon_l1_last:.3f}"
    )
    return out


def _train_ldm(args: argparse.Namespace, ae: Path, out: Path, iterations: int, n_items: int) -> Any:
    from lpm.ldm import TrainConfig, train_ldm

    if (out / "ldm.pt").is_file():  # a finished one from an earlier run of --work
        _log(f"{out.name}: reusing {out}")
        return None
    cfg = TrainConfig(
        dims=args.dims,
        size=args.size,
        model=args.model,
        iterations=iterations,
        batch_size=args.batch_size,
        lr=args.lr,
        autoencoder=ae,
        n_items=n_items,
        seed=args.seed,
        out=out,
        checkpoint_every=max(iterations, 1),
        cache_latents_mb=256.0,
        progress=False,
    )
    t0 = time.perf_counter()
    result = train_ldm(cfg)
    _log(
        f"{out.name}: {iterations} it on {n_items} images, {time.perf_counter() - t0:.0f} s, "
        f"loss {result.loss_first:.3f} -> {result.loss_last:.3f}"
    )
    return result


def _sample_and_evaluate(args: argparse.Namespace, run: Path, work: Path) -> dict[str, Any]:
    from lpm.ldm import SampleConfig, sample_ldm
    from lpm.ldm.features import evaluate_samples_dir

    out = work / f"samples_{run.name}"
    t0 = time.perf_counter()
    result = sample_ldm(
        SampleConfig(
            run=run,
            n=args.samples,
            steps=args.steps,
            sampler=args.sampler,
            batch_size=min(16, args.samples),
            seed=args.seed,
            out=out,
            png=False,
            progress=False,
        )
    )
    report = evaluate_samples_dir(out, run, n_real=args.samples, seed=args.seed)
    _log(f"{run.name}: sampled and evaluated {args.samples} in {time.perf_counter() - t0:.0f} s")
    return {
        "samples_dir": str(out),
        "latent_std": result.extra.get("latent_std"),
        "report": report,
    }


def _floor(args: argparse.Namespace, run: Path) -> Any:
    """Real vs real: held-out phantoms of another seed measured as if they were samples."""
    from lpm.ldm.features import autoencoder_features, heldout_data, training_data
    from lpm.quality import DataSpec, evaluate, load_reference

    shape = tuple(args.size for _ in range(args.dims))
    real = heldout_data(run, args.samples)
    other = DataSpec(real.source, args.samples, real.seed + 7919)
    train = training_data(run)
    return evaluate(
        load_reference(other, shape),
        load_reference(real, shape),
        load_reference(train, shape),
        autoencoder_features(run),
        seed=args.seed,
    )


def _ae_bound(args: argparse.Namespace, ae: Path, features: Any = None) -> Any:
    """Autoencoder reconstructions vs real: the floor's other held-out phantoms encoded and
    decoded by the run's autoencoder, measured against the held-out phantoms. No diffusion
    model can sample better than its decoder reconstructs, so this bounds the trained row."""
    import torch

    from lpm.datasets import hu_to_unit, to_hu
    from lpm.ldm.features import heldout_data
    from lpm.ldm.networks import load_autoencoder
    from lpm.quality import DataSpec, evaluate, load_reference

    shape = tuple(args.size for _ in range(args.dims))
    real = heldout_data(ae, args.samples)
    other = load_reference(DataSpec(real.source, args.samples, real.seed + 7919), shape)
    model = load_autoencoder(ae)[0]
    units = torch.from_numpy(hu_to_unit(other))[:, None]
    with torch.no_grad():
        recon = torch.cat(
            [model.decode_stage_2_outputs(model.encode_stage_2_inputs(x)) for x in units.split(8)]
        )
    recon_hu = np.asarray(to_hu(recon[:, 0].numpy()), dtype=np.float32)
    return evaluate(recon_hu, load_reference(real, shape), None, features, seed=args.seed)


def _ae_only(args: argparse.Namespace, ae: Path, started: datetime, seconds: float) -> dict:
    """--ae-only: the autoencoder's reconstructions vs real next to the floor (screening)."""
    from lpm.ldm.features import autoencoder_features

    reports = {
        "floor": _floor(args, ae),
        "autoencoder": _ae_bound(args, ae, autoencoder_features(ae)),
    }
    fractions = reports["autoencoder"].tissue_fractions
    _log(
        "tissue fractions, reconstructed / real: "
        + ", ".join(f"{k} {v['generated']:.3f}/{v['real']:.3f}" for k, v in fractions.items())
    )
    data: dict[str, Any] = {
        "machine": machine(),
        "date_utc": started.strftime("%Y-%m-%d %H:%M"),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "train_seconds": round(seconds, 1),
        "reports": reports,
    }
    print(markdown(data))
    out = {**data, "reports": {k: r.model_dump(mode="json") for k, r in reports.items()}}
    print(json.dumps(out, default=str))
    return data


def _data_latent_std(run: Path, n: int) -> float:
    """Std of the run's training latents after its scale factor (what sampling should match)."""
    import torch

    from lpm.datasets import CTDataset
    from lpm.ldm.networks import build_autoencoder, load_ldm

    blob = load_ldm(run)
    ae = build_autoencoder(blob["autoencoder"]["kwargs"])
    ae.load_state_dict(blob["autoencoder"]["state"])
    cfg = blob["config"]
    data = CTDataset("phantom", dims=cfg["dims"], size=cfg["size"], n=n, seed=cfg["seed"])
    with torch.no_grad():
        z = torch.cat([ae.encode_stage_2_inputs(data[i][None]) for i in range(len(data))])
    return float(z.std()) * float(blob["scale_factor"])


def _gaps_closed(reports: dict[str, Any], row: str) -> dict[str, float | None]:
    """gap_closed of reports[row] for every fidelity metric, between untrained and floor."""
    return {
        name: gap_closed(
            _value(reports["untrained"], name),
            _value(reports[row], name),
            _value(reports["floor"], name),
        )
        for name in FIDELITY
    }


def _montage(path: Path, rows: dict[str, np.ndarray], dims: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = 8
    fig, axes = plt.subplots(len(rows), k, figsize=(1.6 * k, 1.75 * len(rows)))
    for r, (label, images) in enumerate(rows.items()):
        for c in range(k):
            ax = axes[r, c]
            ax.axis("off")
            if c >= len(images):
                continue
            # 3D: the middle axial slice (volumes are x, y, z in RAS+)
            image = images[c] if dims == 2 else images[c][:, :, images.shape[3] // 2]
            ax.imshow(image.T, cmap="gray", vmin=-1000, vmax=1000, origin="lower")
        axes[r, 0].set_title(label, fontsize=9, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _value(report: Any, name: str) -> float:
    metric = report.metrics.get(name)
    return float("nan") if metric is None else float(metric.value)


def _cell(report: Any, name: str) -> str:
    metric = report.metrics.get(name)
    if metric is None:
        return "–"
    lo, hi = metric.ci
    return f"{metric.value:.4g} [{lo:.3g}, {hi:.3g}]"


def markdown(data: dict[str, Any]) -> str:
    """The RESULTS.md table: floor, autoencoder reconstructions, untrained, trained (95 % CI),
    the gap closed and, in brackets, the most an LDM on this autoencoder could close."""
    reports = data["reports"]
    columns = [("floor", "floor (real vs real)"), ("autoencoder", "autoencoder recon vs real")]
    columns += [("untrained", "untrained"), ("trained", "trained")]
    columns = [(k, label) for k, label in columns if k in reports]
    head = "| metric | " + " | ".join(label for _, label in columns) + " |"
    if "trained" in reports:
        head += " gap closed (autoencoder's) |"
    if "few" in reports:
        head += f" trained on {data['few']} images |"
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    bound = data.get("gap_closed_bound", {})
    for name in FIDELITY + OTHER:
        row = f"| {name} | " + " | ".join(_cell(reports[k], name) for k, _ in columns) + " |"
        if "trained" in reports:
            closed, most = data["gap_closed"].get(name), bound.get(name)
            cell = "" if closed is None else f"{closed:.2f}"
            cell += "" if most is None else f" ({most:.2f})"
            row += f" {cell} |"
        if "few" in reports:
            row += f" {_cell(reports['few'], name)} |"
        lines.append(row)
    stds = data.get("latent_std")
    if stds:
        row = f"| sampled latent std (data {stds['data']:.3f}) |" + "".join(
            f" {stds[k]:.3f} |" if k in stds else " – |" for k, _ in columns
        )
        row += " |" + (f" {stds.get('few', float('nan')):.3f} |" if "few" in reports else "")
        lines.append(row)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, choices=(2, 3), default=2)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--model", default="small")
    parser.add_argument("--ae-iterations", type=int, default=1500)
    parser.add_argument("--ae-batch-size", type=int, default=2)
    parser.add_argument("--ae-channels", type=int, default=64)
    parser.add_argument(
        "--ae-latent-channels", type=int, default=3, help="latent channels of the autoencoder"
    )
    parser.add_argument("--ae-lr", type=float, default=5e-4)
    parser.add_argument("--ae-adv-weight", type=float, default=0.01)
    parser.add_argument(
        "--ae-adv-warmup", type=int, default=-1, help="-1: a quarter of the iterations"
    )
    parser.add_argument(
        "--ae-num-embeddings", type=int, default=None, help="codebook (default: lpm's for --dims)"
    )
    parser.add_argument(
        "--ae-patch-size", type=int, default=None, help="train the autoencoder on random crops"
    )
    parser.add_argument(
        "--ae-only",
        action="store_true",
        help="train the autoencoder, print its reconstructions vs real next to the floor, stop",
    )
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--n-items", type=int, default=256, help="training images")
    parser.add_argument("--few", type=int, default=0, help="also train on this many images")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--sampler", default="ddim")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="keep the runs here")
    parser.add_argument("--montage", type=Path, default=ROOT / "bench" / "ldm_quality_2d.png")
    parser.add_argument("--no-montage", action="store_true")
    args = parser.parse_args(argv)

    from lpm.ldm.features import autoencoder_features
    from lpm.quality import load_samples

    work = args.work or Path(tempfile.mkdtemp(prefix="lpm-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    ae = _train_autoencoder(args, work)
    if args.ae_only:
        return _ae_only(args, ae, started, time.perf_counter() - t0)
    trained_run, untrained_run, few_run = work / "trained", work / "untrained", work / "few"
    _train_ldm(args, ae, trained_run, args.iterations, args.n_items)
    _train_ldm(args, ae, untrained_run, 1, args.n_items)
    train_s = time.perf_counter() - t0
    results = {
        "trained": _sample_and_evaluate(args, trained_run, work),
        "untrained": _sample_and_evaluate(args, untrained_run, work),
    }
    if args.few:
        _train_ldm(args, ae, few_run, args.iterations, args.few)
        results["few"] = _sample_and_evaluate(args, few_run, work)
    reports = {k: v["report"] for k, v in results.items()}
    reports["floor"] = _floor(args, trained_run)
    reports["autoencoder"] = _ae_bound(args, ae, autoencoder_features(trained_run))
    data: dict[str, Any] = {
        "machine": machine(),
        "date_utc": started.strftime("%Y-%m-%d %H:%M"),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "train_seconds": round(train_s, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "few": args.few or None,
        "reports": reports,
        "latent_std": {
            "data": _data_latent_std(trained_run, min(args.n_items, 64)),
            **{k: float(v["latent_std"]) for k, v in results.items()},
        },
        "gap_closed": _gaps_closed(reports, "trained"),
        "gap_closed_bound": _gaps_closed(reports, "autoencoder"),
    }
    closed = [v for v in data["gap_closed"].values() if v is not None]
    ratio = data["latent_std"]["trained"] / data["latent_std"]["data"]
    data["target_met"] = bool(
        len(closed) == len(FIDELITY) and min(closed) >= 0.8 and abs(ratio - 1) <= 0.2
    )
    if not args.no_montage:
        from lpm.ldm.features import heldout_data
        from lpm.quality import DataSpec, load_reference

        shape = tuple(args.size for _ in range(args.dims))
        rows = {
            "trained": load_samples(results["trained"]["samples_dir"])[0],
            "real (held out)": load_reference(heldout_data(trained_run, 8), shape),
            "untrained": load_samples(results["untrained"]["samples_dir"])[0],
        }
        if args.few:
            rows[f"trained on {args.few}"] = load_samples(results["few"]["samples_dir"])[0]
            rows[f"its {args.few} training images"] = load_reference(
                DataSpec("phantom", args.few, args.seed), shape
            )
        _montage(args.montage, rows, args.dims)
        data["montage"] = str(
            args.montage.relative_to(ROOT) if args.montage.is_relative_to(ROOT) else args.montage
        )
    print(markdown(data))
    out = {**data, "reports": {k: r.model_dump(mode="json") for k, r in reports.items()}}
    print(json.dumps(out, default=str))
    return data


if __name__ == "__main__":
    main()
