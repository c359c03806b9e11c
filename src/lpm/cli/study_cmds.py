"""CLI of lpm.study: ``lpm study [SPEC.yaml | --preset quick|paper] --out DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lpm.errors import LpmError


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=120)


def _pm(pred: dict[str, Any] | None, key: str, scale: float = 1.0) -> str:
    """``mean ± std`` of a prediction field (``energy_kwh`` or ``co2e_kg``)."""
    if not isinstance(pred, dict):
        return "-"
    if key == "co2e_kg":
        fp = pred.get("footprint") or {}
        mean, std = fp.get("co2e_kg"), fp.get("co2e_kg_std")
    else:
        mean, std = pred.get(f"{key}_mean"), pred.get(f"{key}_std")
    if not isinstance(mean, int | float):
        return "-"
    text = f"{mean * scale:,.3g}"
    if isinstance(std, int | float) and std and mean:
        text += f" ± {100 * std / abs(mean):.0f}%"
    return text


def _flop_per_j(part: dict[str, Any]) -> str:
    value = part.get("flop_per_j") if isinstance(part, dict) else None
    return f"{value:.3g}" if isinstance(value, int | float) else "-"


def summary_table(records: list[dict[str, Any]], title: str) -> Table:
    """One row per scenario: predicted IT energy and CO2e of training and synthesis."""
    table = Table(
        title=title, caption="kWh: IT energy; kg: CO2e (x PUE x intensity); mean ± std in %"
    )
    table.add_column("scenario", no_wrap=True)
    for col in ("train kWh", "train kg", "synthesis kWh", "synthesis kg", "train FLOP/J", "est."):
        table.add_column(col, justify="right")
    for rec in records:
        train = rec.get("train") or {}
        sample = rec.get("sample") or {}
        table.add_row(
            str(rec.get("scenario_id")),
            _pm(train.get("prediction"), "energy_kwh"),
            _pm(train.get("prediction"), "co2e_kg"),
            _pm(sample.get("prediction"), "energy_kwh"),
            _pm(sample.get("prediction"), "co2e_kg"),
            _flop_per_j(train),
            "yes" if rec.get("estimated") else "no",
        )
    return table


def _load(spec_file: Path | None, preset: str | None):  # -> StudySpec
    from lpm.study.presets import preset_spec
    from lpm.study.spec import load_spec

    if spec_file is not None and preset is not None:
        raise LpmError("give a spec file or --preset, not both")
    if spec_file is None and preset is None:
        raise LpmError("give a spec file (SPEC.yaml) or --preset quick|paper")
    return load_spec(spec_file) if spec_file is not None else preset_spec(preset)


def _build_report(out_dir: Path) -> Path:
    from lpm.report import build_report

    return Path(build_report(out_dir).html)


def study(
    spec_file: Annotated[
        Path | None, typer.Argument(metavar="SPEC.yaml", help="Study spec (YAML).")
    ] = None,
    preset: Annotated[
        str | None, typer.Option("--preset", help="Built-in spec: quick or paper.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Study directory.")] = None,
    executor: Annotated[
        str, typer.Option("--executor", help="Where scenarios run: local or slurm.")
    ] = "local",
    workers: Annotated[
        int, typer.Option("--workers", help="Scenarios run at once (local executor).")
    ] = 1,
    slurm_partition: Annotated[
        str | None, typer.Option("--slurm-partition", help="Slurm partition.")
    ] = None,
    slurm_timeout_min: Annotated[
        int, typer.Option("--slurm-timeout-min", help="Time limit of each Slurm job.")
    ] = 24 * 60,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the spec and its scenarios; run nothing.")
    ] = False,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Build DIR/report.html at the end.")
    ] = True,
) -> None:
    """Run a footprint study: measure each scenario, predict the targets, build the report."""
    from lpm.study.checks import check_spec
    from lpm.study.executors import make_executor
    from lpm.study.grid import jobs, scenarios
    from lpm.study.runner import run_study

    spec = _load(spec_file, preset)
    if executor not in ("local", "slurm"):
        raise LpmError(f"unknown executor {executor!r}; use local or slurm")
    if workers < 1:
        raise LpmError(f"--workers must be at least 1, got {workers}")
    if dry_run:
        typer.echo(spec.to_yaml().rstrip())
        scs = scenarios(spec)
        typer.echo(f"# {len(scs)} scenarios in {len(jobs(spec))} measured runs:")
        for sc in scs:
            typer.echo(f"#   {sc.scenario_id}")
        return
    if out is None:
        raise LpmError("give the study directory with --out DIR")
    check_spec(spec)
    slurm_params: dict[str, Any] = {"timeout_min": slurm_timeout_min}
    if slurm_partition:
        slurm_params["slurm_partition"] = slurm_partition
    ex = make_executor(
        executor, workers=workers, folder=out / "slurm", slurm_parameters=slurm_params
    )
    console = _console(stderr=True)
    outcome = run_study(spec, out, executor=ex, workers=workers, console=console)
    stdout = _console()
    if outcome.records:
        stdout.print(summary_table(outcome.records, f"{spec.name}: predicted footprint"))
        stdout.print(
            f"training: {spec.targets.train_iterations:,} iterations; synthesis: "
            f"{spec.targets.samples:,} samples × steps; CO2e with PUE {spec.pue:g} in "
            f"{spec.region}. {len(outcome.measured_ids)} measured now, "
            f"{len(outcome.skipped_ids)} from before."
        )
    for job_id, error in outcome.failed.items():
        typer.echo(f"failed: {job_id}: {' '.join(error.split())}", err=True)
    if report and outcome.records:
        path = _build_report(outcome.out_dir)
        typer.echo(f"results: {outcome.out_dir / 'results.jsonl'}")
        typer.echo(f"report: {path}")
    if outcome.failed:
        typer.echo(
            f"error: {len(outcome.failed)} runs failed (see {out / 'failures.jsonl'}); "
            "run the same command again to retry them",
            err=True,
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``lpm study`` to the app."""
    app.command(name="study")(study)
