"""CLI of the energy–quality sweep: ``lpm tradeoff`` (lpm.study.tradeoff).

The table of points and the recommendation go to stderr; stdout holds the summary with
``--json``, else the paths of the files written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from lpm.errors import LpmError

_DATA = "'phantom' or a path: NIfTI file, DICOM series, folder of volumes or images, list file."
_REFERENCE = re.compile(r"^([A-Za-z]\w*)-(\d+)-b(\d+)$")


def _words(text: str | None, what: str) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise LpmError(f"--{what} is empty; give a comma-separated list")
    return items


def _numbers(text: str | None, what: str) -> list[int] | None:
    items = _words(text, what)
    if items is None:
        return None
    try:
        return [int(t) for t in items]
    except ValueError:
        raise LpmError(f"--{what} takes whole numbers separated by commas, not {text!r}") from None


def _reference(text: str | None) -> tuple[str, int, int] | None:
    if text is None:
        return None
    match = _REFERENCE.match(text.strip())
    if match is None:
        raise LpmError(f"--reference is SAMPLER-STEPS-bBATCH (e.g. ddpm-1000-b1), not {text!r}")
    return match.group(1), int(match.group(2)), int(match.group(3))


def _table(points: list[Any], summary: Any) -> Any:
    from rich.table import Table

    n = f"{summary.target_samples:,}"
    table = Table(
        title=f"energy and quality per recipe (CO2e: PUE {summary.pue:g}, {summary.region})"
    )
    for name in ("recipe", "J / sample", f"kg CO2e / {n}"):
        table.add_column(name, justify="left" if name == "recipe" else "right")
    for m in summary.metrics:
        table.add_column(m, justify="right")
    table.add_column("within", justify="center")
    within = set(summary.within)
    ordered = sorted(points, key=lambda p: (not p.ok, p.synthesis_co2e_kg or 0.0, p.point_id))
    for p in ordered:
        if not p.ok:
            table.add_row(
                p.point_id, "failed", (p.error or "")[:60], *[""] * len(summary.metrics), ""
            )
            continue
        mark = (
            "ref" if p.point_id == summary.reference else ("yes" if p.point_id in within else "no")
        )
        if p.point_id == summary.recommended:
            mark = "best"
        values = [f"{v:.4g}" if (v := p.metric(m)) is not None else "-" for m in summary.metrics]
        energy = f"{p.energy_per_sample_j_mean:.3g} ± {p.energy_per_sample_j_std:.2g}"
        table.add_row(p.point_id, energy, f"{p.synthesis_co2e_kg:.3g}", *values, mark)
    return table


def recommendation_line(summary: Any) -> str:
    """The sweep's answer in one line: the recommended recipe and its saving, or the closest."""
    if summary.recommended is None and summary.closest is None:
        return f"no recommendation: {summary.why}"
    saving = ""
    if summary.saving_fraction is not None and summary.saving_co2e_kg is not None:
        kg = f"{summary.saving_co2e_kg:.3g} kg CO2e for {summary.target_samples:,} samples"
        saving = f"; saves {summary.saving_fraction:.1%} ({kg}) against {summary.reference}"
    head = "recommended" if summary.recommended is not None else "closest"
    return f"{head}: {summary.recommended or summary.closest}{saving}. {summary.why}"


def tradeoff(
    run: Annotated[
        list[Path], typer.Option("--run", help="Trained run of `lpm train` (repeat for more).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder of the sweep (resumed if it exists).")],
    real: Annotated[
        str | None,
        typer.Option("--real", help=f"Real held-out data: {_DATA} Default: held-out phantoms."),
    ] = None,
    train: Annotated[
        str | None,
        typer.Option(
            "--train", help=f"Training data for the copy check: {_DATA} Default: the run's."
        ),
    ] = None,
    samplers: Annotated[
        str | None,
        typer.Option(
            "--samplers", help="Comma-separated samplers (default: all that fit each run)."
        ),
    ] = None,
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps", help="Comma-separated step counts (default: 1000,500,200,100,50,20,10)."
        ),
    ] = None,
    batches: Annotated[
        str | None, typer.Option("--batches", help="Comma-separated batch sizes (default: 1,4,16).")
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples", help="Samples scored per (sampler, steps) (default: 64, at least 4)."
        ),
    ] = None,
    energy_steps: Annotated[
        int | None,
        typer.Option("--energy-steps", help="Steps of each short energy run (default: 20)."),
    ] = None,
    energy_batches: Annotated[
        int | None,
        typer.Option(
            "--energy-batches",
            help="Measured batches per energy run, after 1 warm-up (default: 2).",
        ),
    ] = None,
    tolerance: Annotated[
        float | None,
        typer.Option(
            "--tolerance", help="Allowed relative quality loss vs the reference (default: 0.05)."
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference", help="Reference recipe SAMPLER-STEPS-bBATCH (default: ddpm-1000-b1)."
        ),
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Carbon intensity region.")] = None,
    pue: Annotated[float | None, typer.Option("--pue", help="Power usage effectiveness.")] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the samples (the same for every recipe).")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar with ETA on stderr.")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
) -> None:
    """Sweep sampler × steps × batch: energy and quality per recipe, the lowest-carbon one."""
    from rich.console import Console

    from lpm.ldm.features import HELDOUT_SEED_OFFSET, training_data
    from lpm.quality import DataSpec
    from lpm.results import read_tradeoff
    from lpm.study.tradeoff import run_tradeoff, sweep_from

    values: dict[str, Any] = {
        "samplers": _words(samplers, "samplers"), "steps": _numbers(steps, "steps"),
        "batches": _numbers(batches, "batches"), "quality_samples": samples,
        "energy_steps": energy_steps, "energy_batches": energy_batches, "tolerance": tolerance,
        "reference": _reference(reference), "region": region, "pue": pue, "seed": seed,
    }  # fmt: skip
    values = {k: v for k, v in values.items() if v is not None}
    if real is not None or train is not None:
        base = training_data(run[0])
        if real is not None:
            values["real"] = DataSpec(real, None, base.seed + HELDOUT_SEED_OFFSET)
        if train is not None:
            values["train"] = DataSpec(train, None, base.seed)
    sweep = sweep_from(**values)
    summary = run_tradeoff(run, out, sweep, progress=progress)
    points = [p for p in read_tradeoff(out)[0] if p.run in {r.label for r in summary.runs}]
    err = Console(stderr=True)
    if not err.is_terminal:
        err = Console(stderr=True, width=160)
    err.print(_table(points, summary))
    err.print(recommendation_line(summary), markup=False, highlight=False)
    for item in summary.break_even:
        err.print(f"break-even: {item.note}", markup=False, highlight=False)
    if as_json:
        typer.echo(json.dumps(summary.model_dump(mode="json"), indent=2))
        return
    typer.echo(f"points: {out / 'tradeoff.jsonl'}")
    typer.echo(f"summary: {out / 'tradeoff.json'}")


def register(app: typer.Typer) -> None:
    """Add ``lpm tradeoff`` to the app."""
    app.command(name="tradeoff")(tradeoff)
