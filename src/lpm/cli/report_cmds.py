"""CLI of lpm.report: ``lpm report DIR`` rebuilds a study's figures and HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lpm.errors import LpmError


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=120)


def report(
    study_dir: Annotated[
        Path,
        typer.Argument(
            help="A study directory (the --out of `lpm study`) holding results.jsonl.",
            metavar="DIR",
            show_default=False,
        ),
    ],
    claims: Annotated[
        bool, typer.Option("--claims/--no-claims", help="Print the paper's claims table.")
    ] = True,
) -> None:
    """Rebuild DIR/figures/ and DIR/report.html from DIR/results.jsonl (partial results too)."""
    from lpm.report.build import build_report
    from lpm.report.claims import BASIS_ORDER

    if not study_dir.exists():
        raise LpmError(f"{study_dir} does not exist; pass the --out directory of `lpm study`")
    if not study_dir.is_dir():
        raise LpmError(f"{study_dir} is not a directory; pass the --out directory of `lpm study`")
    out = build_report(study_dir)
    console = _console()
    analysis = out.analysis
    if claims:
        table = Table(title="The paper's claims and this run")
        for col in ("basis", "topic", "this run", "verdict", "rests on"):
            table.add_column(col)
        for claim in sorted(out.claims, key=lambda c: BASIS_ORDER.index(c.basis)):
            table.add_row(
                Text(claim.basis.value),
                Text(claim.topic),
                Text(claim.run),
                Text(claim.verdict),
                Text(claim.provenance.value if claim.provenance else "–"),
            )
        console.print(table)
    for note in analysis.notes:
        typer.echo(f"note: {note}", err=True)
    measured = sum(1 for f in out.figures if f.measured)
    typer.echo(
        f"{len(analysis.scenarios)} scenarios, {len(analysis.failed)} without result; "
        f"{measured} of {len(out.figures)} figure panels with data in {study_dir / 'figures'}"
    )
    typer.echo(f"report: {out.html}")


def register(app: typer.Typer) -> None:
    """Add ``lpm report`` to the app."""
    app.command(name="report")(report)
