"""CLI commands of lpm.ldm: `lpm train-autoencoder`, `lpm train`, `lpm sample`.

Every command takes `--config FILE` (YAML with the config's field names); flags given on
the command line override the file. Validation errors print one line and exit 2.

The flags are not written here: `lpm.cli.options.from_config` builds one per field of the
command's pydantic model (`lpm.ldm.config`), named, typed, defaulted and described by it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from lpm.cli.options import config_options, flag, from_config, given
from lpm.errors import LpmError
from lpm.ldm.config import AutoencoderConfig, SampleConfig, TrainConfig

__all__ = ["config_options", "from_config", "register"]


def _read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    from lpm.io import load_yaml

    data = load_yaml(
        path, what="config file", missing="check the path given to --config.", fix="fix its syntax."
    )
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LpmError(f"config file {path} must hold a mapping of settings (key: value).")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def _merge(model: type[BaseModel], config: Path | None, flags: dict[str, Any]) -> dict[str, Any]:
    """The --config file's values, overridden by the flags given; every required field set."""
    values = _read_config(config)
    values.update(given(flags))
    for name, field in model.model_fields.items():
        if field.is_required() and values.get(name) is None:
            raise LpmError(
                f"{flag(name)} is required (on the command line or in the --config file)."
            )
    return values


@contextmanager
def _interruptible() -> Iterator[None]:
    """A Ctrl-C becomes one line on stderr (the loop's own message) and exit code 130."""
    try:
        yield
    except KeyboardInterrupt as exc:
        said = " ".join(str(exc).split())
        typer.echo(f"interrupted: {said}" if said else "interrupted", err=True)
        raise SystemExit(130) from None


DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Print the settings and the memory estimate; write nothing, run nothing."
    ),
]


def _preflight(cfg: Any, kind: str, dry_run: bool, *, as_json: bool = False) -> bool:
    """Before any work: the output guard and the memory check; with DRY_RUN, the settings
    and the estimate are printed (then a misfit is still refused). True: stop here."""
    from lpm.ldm.memory import check_fits, estimate
    from lpm.ldm.outputs import check_output
    from lpm.ldm.world import available_bytes, run_device

    check_output(cfg.out, kind, replace=getattr(cfg, "replace", False))
    if not dry_run:
        check_fits(cfg)  # refused in milliseconds, before torch is imported
        return False
    run = getattr(cfg, "run", None)
    if run is not None and not (Path(run) / "ldm.pt").is_file() and not Path(run).is_file():
        raise LpmError(
            f"{run} holds no trained model (ldm.pt missing); pass the --out of a finished "
            "`lpm train` run."
        )
    device = run_device()
    est, room = estimate(cfg, device), available_bytes(device)
    settings = cfg.model_dump(mode="json")
    if as_json:
        memory = None if est is None else {**est.to_dict(), "free_bytes": room}
        typer.echo(json.dumps({"dry_run": True, "config": settings, "memory": memory}, indent=2))
    else:
        shown = [
            (k, json.dumps(v) if isinstance(v, list | dict) else str(v))
            for k, v in settings.items()
        ]
        command = {"autoencoder": "train-autoencoder", "diffusion": "train"}.get(kind, "sample")
        _print_table(
            f"lpm {command} --dry-run: nothing written", [*shown, *_memory_rows(est, room)]
        )
    check_fits(cfg, device, available=room)
    return True


def _memory_rows(est: Any, room: int) -> list[tuple[str, str]]:
    """(what, value) rows of an estimate beside the free memory, for a table."""
    from lpm.ldm import memory

    if est is None:
        return [("memory", "no estimate (the run has no config.json)")]
    parts = [(f"memory: {name}", memory.gib(b)) for name, b in est.parts.items()]
    verdict = "fits" if est.fits(room) else "does not fit"
    return [
        *parts,
        (f"memory needed ({memory.STAGES[est.stage]})", f"about {memory.gib(est.bytes)}"),
        (f"memory free ({est.device})", f"{memory.gib(room)}: {verdict}"),
    ]


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


def _stage_rows(result: Any) -> list[tuple[str, str]]:
    """The rows every training stage's table ends with: energy, cost per iteration, size."""
    return [
        *_resumed_rows(result),
        *_energy_rows(result),
        ("energy / iteration", f"{result.energy_per_iteration_j:.2f} J"),
        ("FLOPs / iteration", _flops(result.flops_per_iteration)),
        ("parameters", f"{result.parameters:,}"),
    ]


def _resumed_rows(result: Any) -> list[tuple[str, str]]:
    """A "resumed" row when the run went on from a checkpoint (energy: this process's)."""
    extra = result.extra or {}
    start = int(extra.get("resumed_from") or 0)
    if not start:
        return []
    processes = len(extra.get("segments") or []) or 2
    return [("resumed", f"at iteration {start:,} ({processes} processes; energy: this one's)")]


def _flops(value: int | None) -> str:
    """A FLOP count, or "unknown" when it could not be counted."""
    return "unknown" if value is None else f"{value:.3g}"


def _share(value: float | None) -> str:
    return "unknown" if value is None else f"{100 * value:.1f} % of a sample"


@from_config(AutoencoderConfig)
def train_autoencoder_cmd(
    config: Path | None = None, dry_run: DryRun = False, **flags: Any
) -> None:
    """Train the VQ-GAN autoencoder (stage 1) on CT or phantoms."""
    cfg = _one_process_config("train-autoencoder", AutoencoderConfig, config, flags)
    if _preflight(cfg, "autoencoder", dry_run):
        return
    from lpm.ldm import train_autoencoder

    with _interruptible():
        result = train_autoencoder(cfg)
    _print_table(
        f"autoencoder trained: {result.out}",
        [
            ("iterations", str(result.iterations)),
            ("reconstruction L1", f"{result.recon_l1_first:.4f} -> {result.recon_l1_last:.4f}"),
            *_stage_rows(result),
        ],
    )


def _one_process_config(
    command: str, model: type[BaseModel], config: Path | None, flags: dict[str, Any]
) -> Any:
    """The validated settings of a command that refuses to run under torchrun."""
    from lpm.ldm.config import validated
    from lpm.ldm.world import env_world

    values = _merge(model, config, flags)
    if env_world()[1] > 1:
        raise LpmError(
            f"`lpm {command}` runs in one process; start it without torchrun (only "
            "`lpm train` uses several processes)."
        )
    return validated(model, **values)


@from_config(TrainConfig)
def train_cmd(config: Path | None = None, dry_run: DryRun = False, **flags: Any) -> None:
    """Train the latent diffusion UNet (stage 2); runs under torchrun for DDP."""
    from lpm.ldm.config import validated
    from lpm.ldm.world import env_world

    values = _merge(TrainConfig, config, flags)
    if values.get("autoencoder") is not None and not Path(values["autoencoder"]).exists():
        raise LpmError(
            f"autoencoder run {values['autoencoder']} does not exist; pass the --out of "
            "`lpm train-autoencoder` or leave --autoencoder out."
        )
    cfg = validated(TrainConfig, **values)
    if _preflight(cfg, "diffusion", dry_run):
        return
    from lpm.ldm import train_ldm
    from lpm.ldm.objectives import objective

    with _interruptible():
        result = train_ldm(cfg)
    if env_world()[0] != 0:
        return
    _print_table(
        f"diffusion model trained: {result.out}",
        [
            ("model", f"{cfg.dims}D {cfg.model}, {'x'.join(map(str, cfg.size))}"),
            ("iterations", f"{result.iterations} on {result.world_size} process(es)"),
            (
                f"{cfg.loss.upper()} loss ({objective(cfg.objective).predicts(cfg)})",
                f"{result.loss_first:.4f} -> {result.loss_last:.4f}",
            ),
            *_stage_rows(result),
        ],
    )


@from_config(SampleConfig)
def sample_cmd(
    config: Path | None = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object on stdout.")
    ] = False,
    dry_run: DryRun = False,
    **flags: Any,
) -> None:
    """Sample CT images (NIfTI in HU + PNG previews) from a trained run."""
    from dataclasses import replace

    cfg = _one_process_config("sample", SampleConfig, config, flags)
    if cfg.evaluate:
        _check_evaluable(cfg)
    if _preflight(cfg, "samples", dry_run, as_json=as_json):
        return
    from lpm.ldm import sample_ldm
    from lpm.ldm.results import quality_summary, summary_data, write_summary

    with _interruptible():
        result = sample_ldm(cfg)
    report = None
    if cfg.evaluate:
        report = _evaluate(cfg, result)
        result = replace(result, quality=quality_summary(report))
        write_summary(result, Path(result.out) / "summary.json")
    if as_json:
        typer.echo(json.dumps(summary_data(result), indent=2, default=str))
        return
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
            *([] if report is None else _quality_rows(result)),
        ],
    )


def _min_samples() -> int:
    """The fewest images every quality metric of `lpm sample --evaluate` takes."""
    from lpm.quality import diversity, fidelity

    return max(fidelity.MIN_IMAGES, diversity.MIN_IMAGES)


def _check_evaluable(cfg: SampleConfig) -> None:
    """Before sampling: enough samples for every metric, and held-out data lpm can draw."""
    from lpm.ldm.features import heldout_data, training_data
    from lpm.quality import fidelity, memorisation

    minimum = _min_samples()
    if cfg.n < minimum:
        raise LpmError(
            f"--evaluate needs at least {minimum} samples for its metrics (got --n {cfg.n}); "
            "sample more or leave out --evaluate."
        )
    if training_data(cfg.run).source.lower() != "phantom":
        raise LpmError(
            f"{cfg.run} did not train on phantoms, so --evaluate has no held-out data; sample "
            "without it and run `lpm evaluate --samples DIR --run RUN --real DATA`."
        )
    real = heldout_data(cfg.run)
    need = max(fidelity.MIN_IMAGES, memorisation.MIN_HELDOUT)
    if real.n is not None and real.n < need:
        raise LpmError(
            f"--evaluate needs at least {need} held-out phantoms but {cfg.run} trained on "
            f"{real.n} (as many are held out); run `lpm evaluate --run RUN --n-real {need}`."
        )


def _evaluate(cfg: SampleConfig, result: Any) -> Any:
    """The samples' quality report (quality.json/.html in the samples folder)."""
    from lpm.ldm.features import evaluate_samples_dir

    try:
        return evaluate_samples_dir(
            result.out, cfg.run, seed=cfg.seed, device=result.extra.get("device", "cpu")
        )
    except LpmError as exc:
        raise LpmError(
            f"{str(exc).rstrip('.')}; the samples are kept in {result.out} for `lpm evaluate`."
        ) from None


def _quality_rows(result: Any) -> list[tuple[str, str]]:
    """The metrics (value, 95 % CI, floor), the copy rate and the energy per useful sample."""
    q = result.quality
    rows = []
    for name, m in q["metrics"].items():
        floor = "" if m["floor"] is None else f", floor {_num(m['floor'])}"
        unit = f" {m['unit']}" if m["unit"] else ""
        rows.append(
            (name, f"{_num(m['value'])}{unit} [{_num(m['ci'][0])}, {_num(m['ci'][1])}]{floor}")
        )
    rate = q["copy_rate"]
    rows.append(("copy rate", "unknown" if rate is None else f"{100 * rate:.1f} %"))
    per_j = q["it_energy_j_per_useful_sample"]
    per_kg = q["co2e_kg_per_useful_sample"]
    rows.append(
        (
            "energy / useful sample",
            "unknown (no sample is new)" if per_j is None else f"{per_j:.2f} J",
        )
    )
    rows.append(("CO2e / useful sample", "unknown" if per_kg is None else f"{per_kg * 1000:.4f} g"))
    return rows


def _num(value: float | None) -> str:
    import math

    return "–" if value is None or not math.isfinite(value) else f"{value:.4g}"


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
