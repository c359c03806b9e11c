"""CLI commands of lpm.ldm: `lpm train-autoencoder`, `lpm train`, `lpm sample`.

Every command takes `--config FILE` (YAML with the config's field names); flags given on
the command line override the file. Validation errors print one line and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from lpm.errors import LpmError

_CONFIG_HELP = "YAML file with settings (field names as in the docs); flags override it."


def _read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml

    if not path.is_file():
        raise LpmError(f"config file {path} does not exist; check the path given to --config.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise LpmError(f"config file {path} is not valid YAML{line}; fix its syntax.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LpmError(f"config file {path} must hold a mapping of settings (key: value).")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def _merge(config: Path | None, **flags: Any) -> dict[str, Any]:
    values = _read_config(config)
    values.update({k: v for k, v in flags.items() if v is not None})
    return values


def _print_table(title: str, rows: list[tuple[str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)


def _provenance(result: Any) -> str:
    """The result's provenance; for a mixed run, which kind of device is which."""
    from lpm.provenance import Provenance, describe_parts

    by_kind = result.extra.get("provenance_by_kind") or {}
    if result.provenance is Provenance.MIXED and by_kind:
        return describe_parts(by_kind)
    return result.provenance.value


def _energy_rows(result: Any) -> list[tuple[str, str]]:
    return [
        ("duration", f"{result.duration_s:.1f} s"),
        ("IT energy", f"{result.it_energy_kwh:.6f} kWh ({_provenance(result)})"),
        ("CO2e", f"{result.co2e_kg * 1000:.3f} g"),
    ]


def _flops(value: int | None) -> str:
    """A FLOP count, or "unknown" when it could not be counted."""
    return "unknown" if value is None else f"{value:.3g}"


def _share(value: float | None) -> str:
    return "unknown" if value is None else f"{100 * value:.1f} % of a sample"


def train_autoencoder_cmd(
    dims: int = typer.Option(None, "--dims", help="2 or 3 (image dimensions)."),
    size: str = typer.Option(None, "--size", help="One number (square/cube) or e.g. 256x256x192."),
    data: str = typer.Option(None, "--data", help="'phantom' or a NIfTI/DICOM path."),
    iterations: int = typer.Option(None, "--iterations", help="Training iterations."),
    out: Path = typer.Option(None, "--out", help="Run directory to write."),
    batch_size: int = typer.Option(None, "--batch-size", help="Images per iteration."),
    downsample: int = typer.Option(None, "--downsample", help="4 (default) or 8."),
    lr: float = typer.Option(None, "--lr", help="Learning rate of the autoencoder."),
    seed: int = typer.Option(None, "--seed", help="Random seed."),
    checkpoint_every: int = typer.Option(None, "--checkpoint-every", help="Iterations."),
    perceptual_weights: Path = typer.Option(
        None, "--perceptual-weights", help="ResNet-50 weights on disk (never downloaded)."
    ),
    skip_bad: bool = typer.Option(
        None, "--skip-bad/--no-skip-bad", help="Skip unreadable or bad volumes with a warning."
    ),
    amp: bool = typer.Option(None, "--amp/--no-amp", help="Mixed precision where supported."),
    progress: bool = typer.Option(None, "--progress/--no-progress", help="Show a progress bar."),
    interval_s: float = typer.Option(None, "--interval-s", help="Power sampling interval."),
    region: str = typer.Option(None, "--region", help="Carbon intensity region."),
    config: Path = typer.Option(None, "--config", help=_CONFIG_HELP),
) -> None:
    """Train the VQ-GAN autoencoder (stage 1) on CT or phantoms."""
    from lpm.ldm import AutoencoderConfig, train_autoencoder
    from lpm.ldm.config import validated

    values = _merge(
        config,
        dims=dims,
        size=size,
        data=data,
        iterations=iterations,
        out=out,
        batch_size=batch_size,
        downsample=downsample,
        lr=lr,
        seed=seed,
        checkpoint_every=checkpoint_every,
        perceptual_weights=perceptual_weights,
        skip_bad=skip_bad,
        amp=amp,
        progress=progress,
        interval_s=interval_s,
        region=region,
    )
    _require(values, "dims", "--dims")
    _single_process("train-autoencoder")
    cfg = validated(AutoencoderConfig, **values)
    result = train_autoencoder(cfg)
    _print_table(
        f"autoencoder trained: {result.out}",
        [
            ("iterations", str(result.iterations)),
            ("reconstruction L1", f"{result.recon_l1_first:.4f} -> {result.recon_l1_last:.4f}"),
            *_energy_rows(result),
            ("energy / iteration", f"{result.energy_per_iteration_j:.2f} J"),
            ("FLOPs / iteration", _flops(result.flops_per_iteration)),
            ("parameters", f"{result.parameters:,}"),
        ],
    )


def _single_process(command: str) -> None:
    from lpm.ldm.runtime import env_world

    if env_world()[1] > 1:
        raise LpmError(
            f"`lpm {command}` runs in one process; start it without torchrun (only "
            "`lpm train` uses several processes)."
        )


def _require(values: dict[str, Any], key: str, flag: str) -> None:
    if values.get(key) is None:
        raise LpmError(f"{flag} is required (on the command line or in the --config file).")


def train_cmd(
    dims: int = typer.Option(None, "--dims", help="2 or 3 (image dimensions)."),
    size: str = typer.Option(None, "--size", help="One number (square/cube) or e.g. 256x256x192."),
    model: str = typer.Option(None, "--model", help="small, medium or large."),
    autoencoder: Path = typer.Option(
        None, "--autoencoder", help="Run dir of `lpm train-autoencoder` (else one is trained)."
    ),
    data: str = typer.Option(None, "--data", help="'phantom' or a NIfTI/DICOM path."),
    iterations: int = typer.Option(None, "--iterations", help="Training iterations."),
    batch_size: int = typer.Option(None, "--batch-size", help="Batch size (see --global-batch)."),
    out: Path = typer.Option(None, "--out", help="Run directory to write."),
    warmup_iterations: int = typer.Option(
        None, "--warmup-iterations", help="First iterations left out of per-step energy stats."
    ),
    lr: float = typer.Option(None, "--lr", help="AdamW learning rate."),
    ema: bool = typer.Option(None, "--ema/--no-ema", help="Keep an EMA of the UNet weights."),
    seed: int = typer.Option(None, "--seed", help="Random seed."),
    global_batch: str = typer.Option(
        None, "--global-batch", help="same_per_gpu (default) or same_global under torchrun."
    ),
    schedule: str = typer.Option(
        None, "--schedule", help="scaled_linear_beta (default), linear_beta, cosine."
    ),
    beta_start: float = typer.Option(None, "--beta-start", help="First beta of the schedule."),
    beta_end: float = typer.Option(None, "--beta-end", help="Last beta of the schedule."),
    checkpoint_every: int = typer.Option(None, "--checkpoint-every", help="Iterations."),
    validation_samples: int = typer.Option(
        None, "--validation-samples", help="DDIM samples written at the end."
    ),
    autoencoder_iterations: int = typer.Option(
        None, "--autoencoder-iterations", help="Iterations of the autoencoder trained first."
    ),
    skip_bad: bool = typer.Option(
        None, "--skip-bad/--no-skip-bad", help="Skip unreadable or bad volumes with a warning."
    ),
    compile: bool = typer.Option(None, "--compile/--no-compile", help="torch.compile the UNet."),
    channels_last: bool = typer.Option(
        None, "--channels-last/--no-channels-last", help="channels_last memory format."
    ),
    amp: bool = typer.Option(None, "--amp/--no-amp", help="Mixed precision where supported."),
    progress: bool = typer.Option(None, "--progress/--no-progress", help="Show a progress bar."),
    interval_s: float = typer.Option(None, "--interval-s", help="Power sampling interval."),
    region: str = typer.Option(None, "--region", help="Carbon intensity region."),
    config: Path = typer.Option(None, "--config", help=_CONFIG_HELP),
) -> None:
    """Train the latent diffusion UNet (stage 2); runs under torchrun for DDP."""
    from lpm.ldm import TrainConfig, train_ldm
    from lpm.ldm.config import validated
    from lpm.ldm.runtime import env_world

    values = _merge(
        config,
        dims=dims,
        size=size,
        model=model,
        autoencoder=autoencoder,
        data=data,
        iterations=iterations,
        batch_size=batch_size,
        out=out,
        warmup_iterations=warmup_iterations,
        lr=lr,
        ema=ema,
        seed=seed,
        global_batch=global_batch,
        schedule=schedule,
        beta_start=beta_start,
        beta_end=beta_end,
        checkpoint_every=checkpoint_every,
        validation_samples=validation_samples,
        autoencoder_iterations=autoencoder_iterations,
        skip_bad=skip_bad,
        compile=compile,
        channels_last=channels_last,
        amp=amp,
        progress=progress,
        interval_s=interval_s,
        region=region,
    )
    _require(values, "dims", "--dims")
    if values.get("autoencoder") is not None and not Path(values["autoencoder"]).exists():
        raise LpmError(
            f"autoencoder run {values['autoencoder']} does not exist; pass the --out of "
            "`lpm train-autoencoder` or leave --autoencoder out."
        )
    cfg = validated(TrainConfig, **values)
    result = train_ldm(cfg)
    if env_world()[0] != 0:
        return
    _print_table(
        f"diffusion model trained: {result.out}",
        [
            ("model", f"{cfg.dims}D {cfg.model}, {'x'.join(map(str, cfg.size))}"),
            ("iterations", f"{result.iterations} on {result.world_size} process(es)"),
            ("L1 loss", f"{result.loss_first:.4f} -> {result.loss_last:.4f}"),
            *_energy_rows(result),
            ("energy / iteration", f"{result.energy_per_iteration_j:.2f} J"),
            ("FLOPs / iteration", _flops(result.flops_per_iteration)),
            ("parameters", f"{result.parameters:,}"),
        ],
    )


def sample_cmd(
    run: Path = typer.Option(None, "--run", help="Run directory of `lpm train`."),
    n: int = typer.Option(None, "--n", help="Number of samples."),
    steps: int = typer.Option(None, "--steps", help="Denoising steps per sample."),
    sampler: str = typer.Option(None, "--sampler", help="ddpm, ddim or pndm."),
    out: Path = typer.Option(None, "--out", help="Directory for the samples."),
    batch_size: int = typer.Option(None, "--batch-size", help="Samples denoised together."),
    warmup_steps: int = typer.Option(
        None,
        "--warmup-steps",
        help="First denoising steps left out of the statistics (per-sample ones: the "
        "whole batches inside them).",
    ),
    seed: int = typer.Option(None, "--seed", help="Random seed."),
    ema: bool = typer.Option(None, "--ema/--no-ema", help="Use the EMA weights."),
    png: bool = typer.Option(None, "--png/--no-png", help="Write PNG previews."),
    compile: bool = typer.Option(None, "--compile/--no-compile", help="torch.compile the UNet."),
    channels_last: bool = typer.Option(
        None, "--channels-last/--no-channels-last", help="channels_last memory format."
    ),
    amp: bool = typer.Option(None, "--amp/--no-amp", help="Mixed precision where supported."),
    progress: bool = typer.Option(None, "--progress/--no-progress", help="Show a progress bar."),
    interval_s: float = typer.Option(None, "--interval-s", help="Power sampling interval."),
    region: str = typer.Option(None, "--region", help="Carbon intensity region."),
    config: Path = typer.Option(None, "--config", help=_CONFIG_HELP),
) -> None:
    """Sample CT images (NIfTI in HU + PNG previews) from a trained run."""
    from lpm.ldm import SampleConfig, sample_ldm
    from lpm.ldm.config import validated

    values = _merge(
        config,
        run=run,
        n=n,
        steps=steps,
        sampler=sampler,
        out=out,
        batch_size=batch_size,
        warmup_steps=warmup_steps,
        seed=seed,
        ema=ema,
        png=png,
        compile=compile,
        channels_last=channels_last,
        amp=amp,
        progress=progress,
        interval_s=interval_s,
        region=region,
    )
    _require(values, "run", "--run")
    _single_process("sample")
    cfg = validated(SampleConfig, **values)
    result = sample_ldm(cfg)
    _print_table(
        f"{result.samples} samples written to {result.out}",
        [
            ("sampler", f"{result.extra['sampler']}, {result.steps} steps"),
            *_energy_rows(result),
            ("energy / sample", _per_sample(result)),
            ("fixed / sample", _fixed_per_sample(result)),
            ("fixed share", _share(result.fixed_per_sample_share)),
            ("energy / step", f"{result.energy_per_step_j:.3f} J"),
            ("FLOPs / step", _flops(result.flops_per_step)),
        ],
    )


def _per_sample(result: Any) -> str:
    batches = result.extra.get("batches_measured")
    where = f", {batches} batch{'es' if batches != 1 else ''}" if batches is not None else ""
    n = result.samples_measured
    return (
        f"{result.energy_per_sample_j_mean:.2f} ± {result.energy_per_sample_j_std:.2f} J "
        f"(over {n} sample{'s' if n != 1 else ''}{where})"
    )


def _fixed_per_sample(result: Any) -> str:
    """The fixed per-sample cost: noise draw, decoding and writing, besides the steps."""
    return (
        f"{result.fixed_per_sample_j_mean:.2f} ± {result.fixed_per_sample_j_std:.2f} J, "
        f"{result.fixed_per_sample_s_mean:.3f} ± {result.fixed_per_sample_s_std:.3f} s "
        "(noise, decode, write)"
    )


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command(name="train-autoencoder")(train_autoencoder_cmd)
    app.command(name="train")(train_cmd)
    app.command(name="sample")(sample_cmd)
