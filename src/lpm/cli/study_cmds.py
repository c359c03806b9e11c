"""CLI of lpm.study: ``lpm study [SPEC.yaml | --preset quick|paper] --out DIR``.

The run settings' flags (``--executor``, ``--workers``, ``--slurm-*``, ``--report``,
``--no-quality``, ``--no-tradeoff``) are not written here: they are the fields of
``lpm.study.spec.StudyRun`` (lpm.cli.options).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lpm.cli.options import from_model, given
from lpm.errors import LpmError
from lpm.provenance import Provenance, describe_parts
from lpm.results import PredictionRecord, ScenarioRecord
from lpm.study.spec import StudyRun, run_from_flags
from lpm.units import J_PER_KWH


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=120)


def _pm(pred: PredictionRecord | None, key: str) -> str:
    """``mean ± std`` of a stored prediction: ``energy_kwh`` or ``co2e_kg``."""
    if pred is None:
        return "-"
    if key == "co2e_kg":
        mean, std = pred.co2e_kg_mean, pred.co2e_kg_std
    else:
        mean, std = pred.energy_kwh_mean, pred.energy_kwh_std
    if mean is None:
        return "-"
    text = f"{mean:,.3g}"
    if std and mean:
        text += f" ± {100 * std / abs(mean):.0f}%"
    return text


def _flop_per_j(value: float | None) -> str:
    return f"{value:.3g}" if value is not None else "unknown"


def _fixed_share(rec: ScenarioRecord) -> str:
    share = rec.sample.fixed_share if rec.sample is not None else None
    return f"{100 * share:.2g}%" if share is not None else "-"


def _sampled_at(rec: ScenarioRecord) -> str:
    if rec.sample is None:
        return "-"
    if rec.synthesis_measured_directly:
        return str(rec.sample.steps)
    return f"{rec.sample.steps} (scaled)"


def _provenance(rec: ScenarioRecord) -> str:
    """The record's provenance; for a mixed one, which part is which."""
    if rec.provenance is Provenance.MIXED:
        return describe_parts(rec.provenance_parts())
    return rec.provenance.value


def summary_table(records: Sequence[ScenarioRecord], title: str) -> Table:
    """One row per scenario: predicted IT energy and CO2e of training and synthesis."""
    table = Table(
        title=title,
        caption=(
            "kWh: IT energy; kg: CO2e (x PUE x intensity); mean ± std in %; fixed: share of "
            "a measured sample's energy not in its denoising steps; sampled at: denoising "
            "steps per measured sample (scaled: predicted to the scenario's steps)"
        ),
    )
    table.add_column("scenario", no_wrap=True)
    for col in (
        "train kWh",
        "train kg",
        "synthesis kWh",
        "synthesis kg",
        "fixed",
        "sampled at",
        "train FLOP/J",
        "provenance",
    ):
        table.add_column(col, justify="right")
    for rec in records:
        train, sample = rec.train, rec.sample
        table.add_row(
            rec.scenario_id,
            _pm(train.prediction if train else None, "energy_kwh"),
            _pm(train.prediction if train else None, "co2e_kg"),
            _pm(sample.prediction if sample else None, "energy_kwh"),
            _pm(sample.prediction if sample else None, "co2e_kg"),
            _fixed_share(rec),
            _sampled_at(rec),
            _flop_per_j(train.flop_per_j) if train else "-",
            _provenance(rec),
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


def quality_line(record: Any) -> str:
    """One line on the quality stage: fidelity against its floor, copies, J per useful sample."""
    st = record.setting
    size = "x".join(str(n) for n in st.size)
    parts = [f"quality ({st.dims}D {size} {st.model}, {st.train_iterations:,} iterations):"]
    w1 = record.metrics.get("hu_wasserstein")
    if w1 is not None:
        floor = "" if w1.floor is None else f" (real vs real {w1.floor:.3g})"
        parts.append(f"HU Wasserstein {w1.value:.3g} HU{floor};")
    if record.copy_rate is not None:
        parts.append(f"copy rate {record.copy_rate:.0%};")
    per = record.it_energy_kwh_per_useful_sample
    parts.append(
        "energy per useful sample "
        + ("n/a (all copies)" if per is None else f"{per * J_PER_KWH:.3g} J")
    )
    return " ".join(parts)


def stage_plan(spec: Any) -> str:
    """What the tradeoff stage sweeps, for --dry-run."""
    stage = spec.tradeoff
    setting = stage.setting or spec.quality
    size = "x".join(str(n) for n in setting.size_tuple())
    where = "its own" if stage.setting is not None else "the quality stage's"
    samplers = ", ".join(stage.samplers) if stage.samplers else "every sampler that fits"
    ref = stage.reference
    return (
        f"{where} {setting.dims}D {size} {setting.model} model, objectives "
        f"{', '.join(stage.objectives)}; {samplers} at steps "
        f"{', '.join(map(str, stage.steps))}, batches {', '.join(map(str, stage.batches))}; "
        f"reference {ref.sampler} {ref.steps} steps, batch {ref.batch}"
    )


def tradeoff_line(summary: Any) -> str:
    """One line on the tradeoff stage: the recommended recipe and its saving, or the closest."""
    tol = f"{summary.tolerance:.0%}"
    n = f"{summary.target_samples:,} samples"
    saving = ""
    if summary.saving_fraction is not None:
        saving = f"{summary.saving_fraction:.1%} less CO2e than {summary.reference}"
        if summary.saving_co2e_kg is not None:
            saving += f" ({summary.saving_co2e_kg:.3g} kg for {n})"
    if summary.recommended is not None:
        return (
            f"tradeoff: recommended {summary.recommended}: {saving or 'no saving known'}, "
            f"quality not shown more than {tol} worse than the reference's (95 % CI)"
        )
    closest = summary.closest or "none"
    tail = f"; {saving}" if saving else ""
    return (
        f"tradeoff: no recipe within {tol} of {summary.reference}; closest {closest}: "
        f"{' '.join(summary.why.split())}{tail}"
    )


@from_model(StudyRun)
def study(
    spec_file: Annotated[
        Path | None, typer.Argument(metavar="SPEC.yaml", help="Study spec (YAML).")
    ] = None,
    preset: Annotated[
        str | None, typer.Option("--preset", help="Built-in spec: quick or paper.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Study directory.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the spec and its scenarios; run nothing.")
    ] = False,
    **flags: Any,
) -> None:
    """Run a footprint study: measure each scenario, predict the targets, build the report."""
    from lpm.study.checks import check_memory, check_spec
    from lpm.study.executors import make_executor
    from lpm.study.grid import jobs, scenarios
    from lpm.study.runner import run_study
    from lpm.study.slurm import slurm_options

    spec = _load(spec_file, preset)
    run = run_from_flags(given(flags))
    options = slurm_options(spec.slurm, run)
    check_spec(spec)
    if run.executor == "local":  # here, so this machine's memory is the one that counts
        check_memory(spec)
    if out is not None:  # also for --dry-run: every check that needs no work runs first
        from lpm.ldm.outputs import check_writable

        check_writable(out)
    if dry_run:
        typer.echo(spec.to_yaml().rstrip())
        scs = scenarios(spec)
        typer.echo(f"# {len(scs)} scenarios in {len(jobs(spec))} measured runs:")
        for sc in scs:
            typer.echo(f"#   {sc.scenario_id}")
        if spec.tradeoff is not None:
            typer.echo(f"# then the tradeoff stage: {stage_plan(spec)}")
        return
    if out is None:
        raise LpmError("give the study directory with --out DIR")
    ex = make_executor(
        run.executor,
        workers=run.workers,
        folder=out / "slurm",
        slurm_options=options,
    )
    console = _console(stderr=True)
    outcome = run_study(
        spec,
        out,
        executor=ex,
        workers=run.workers,
        console=console,
        quality=run.quality,
        tradeoff=run.tradeoff,
    )
    stdout = _console()
    if outcome.records:
        stdout.print(summary_table(outcome.records, f"{spec.name}: predicted footprint"))
        stdout.print(
            f"training: {spec.targets.train_iterations:,} iterations; synthesis: "
            f"{spec.targets.samples:,} samples × (fixed cost + steps × energy per step); "
            f"CO2e with PUE {spec.pue:g} in "
            f"{spec.region}. {len(outcome.measured_ids)} measured now, "
            f"{len(outcome.skipped_ids)} from before."
        )
    if outcome.quality is not None:
        typer.echo(quality_line(outcome.quality))
    if outcome.tradeoff is not None:
        typer.echo(tradeoff_line(outcome.tradeoff))
    for job_id, error in outcome.failed.items():
        typer.echo(f"failed: {job_id}: {' '.join(error.split())}", err=True)
    if run.report and outcome.records:
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
