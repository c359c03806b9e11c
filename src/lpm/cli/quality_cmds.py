"""CLI of lpm.quality: ``lpm evaluate`` scores a samples folder (fidelity, diversity,
memorisation) and writes quality.json and quality.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lpm.errors import LpmError

_DATA = "'phantom' or a path: NIfTI file, DICOM series, folder of volumes or images, list file."


def evaluate(
    samples: Annotated[
        Path, typer.Option("--samples", help="Folder of samples (*.nii.gz, `lpm sample --out`).")
    ],
    real: Annotated[
        str | None,
        typer.Option(
            "--real", help=f"Real held-out data: {_DATA} Default with --run: held-out phantoms."
        ),
    ] = None,
    train: Annotated[
        str | None,
        typer.Option(
            "--train",
            help=f"Training data for the copy check: {_DATA} Default with --run: the run's.",
        ),
    ] = None,
    run: Annotated[
        Path | None,
        typer.Option("--run", help="Run of `lpm train`: its data, held-out data and autoencoder."),
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option("--features", help="ResNet-50 state dict on disk for the feature metrics."),
    ] = None,
    feature_net: Annotated[
        str,
        typer.Option(
            "--feature-net",
            help="resnet50 (torchvision layout; 2.5-D on volumes) or medicalnet (3D).",
        ),
    ] = "resnet50",
    n_real: Annotated[
        int | None,
        typer.Option("--n-real", min=1, help="Real images to use (default: all; 64 phantoms)."),
    ] = None,
    n_train: Annotated[
        int | None,
        typer.Option("--n-train", min=1, help="Training images (default: all; as the run)."),
    ] = None,
    real_seed: Annotated[
        int | None,
        typer.Option(
            "--real-seed",
            help="Seed drawing real phantoms/slices (default: training seed + 1000000).",
        ),
    ] = None,
    train_seed: Annotated[
        int, typer.Option("--train-seed", help="Seed of the training data (without --run).")
    ] = 0,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=10, help="Bootstrap resamples for the CIs.")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and pairs.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for quality.json/.html (default: --samples)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Score generated CT against real images: fidelity, diversity, memorisation."""  # fmt: skip
    from lpm.ldm.features import HELDOUT_SEED_OFFSET, evaluate_samples_dir, training_data
    from lpm.quality import DataSpec, evaluate_dir, resnet_features

    feats = None if features is None else resnet_features(features, feature_net)
    rseed = real_seed
    if rseed is None:
        rseed = HELDOUT_SEED_OFFSET + (training_data(run).seed if run is not None else 0)
    real_spec = None if real is None else DataSpec(real, n_real, rseed)
    if run is not None:
        train_spec = None
        if train is not None:
            train_spec = DataSpec(train, n_train, training_data(run).seed)
        elif n_train is not None:
            base = training_data(run)
            train_spec = DataSpec(base.source, n_train, base.seed)
        report = evaluate_samples_dir(
            samples, run, real=real_spec, train=train_spec, features=feats, n_real=n_real,
            out=out, n_boot=bootstrap, seed=seed,
        )  # fmt: skip
    else:
        if real_spec is None:
            raise LpmError("give --real DATA (real images to compare with) or --run RUN.")
        train_spec = None if train is None else DataSpec(train, n_train, train_seed)
        report = evaluate_dir(
            samples, real_spec, train_spec, feats, out=out, n_boot=bootstrap, seed=seed
        )
    target = samples if out is None else out
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    for name, m in report.metrics.items():
        floor = "" if m.floor is None else f"  (floor {m.floor:.4g})"
        typer.echo(f"{name:20s} {m.value:10.4g} {m.unit:3s} [{m.ci[0]:.4g}, {m.ci[1]:.4g}]{floor}")
    if report.energy is not None and report.energy.it_energy_kwh_per_useful_sample is not None:
        e = report.energy
        typer.echo(
            f"energy / useful sample: {e.it_energy_kwh_per_useful_sample:.4g} kWh"
            + (
                ""
                if e.co2e_kg_per_useful_sample is None
                else f", {e.co2e_kg_per_useful_sample:.4g} kg CO2e"
            )
        )
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"report: {target / 'quality.json'}, {target / 'quality.html'}")


def register(app: typer.Typer) -> None:
    """Add ``lpm evaluate`` to the app."""
    app.command(name="evaluate")(evaluate)
