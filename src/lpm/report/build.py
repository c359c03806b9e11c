"""Build a study's figures and HTML report from its results (complete or partial)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lpm.errors import LpmError
from lpm.io import atomic_write_text
from lpm.report.analysis import Analysis, analyze
from lpm.report.claims import Claim, compute_claims
from lpm.report.figures import FigureResult, make_figures
from lpm.report.page import render
from lpm.report.tradeoff_figure import tradeoff_figures

REPORT_FILENAME = "report.html"
FIGURES_DIRNAME = "figures"


@dataclass(frozen=True)
class ReportOutput:
    """What :func:`build_report` wrote."""

    html: Path
    figures: tuple[FigureResult, ...]
    analysis: Analysis
    claims: tuple[Claim, ...]


def build_report(study_dir: str | Path, *, backtest_path: str | Path | None = None) -> ReportOutput:
    """Write ``DIR/figures/*.png|pdf`` and ``DIR/report.html`` from ``DIR/results.jsonl``
    (and Fig. 5 and "How to cut it" from ``DIR/tradeoff/`` when the study swept).

    ``backtest_path`` replaces the packaged prediction backtest. Raises LpmError if the
    directory or its results are missing or hold no result.
    """
    study_dir = Path(study_dir)
    analysis = analyze(study_dir, backtest_path=backtest_path)
    _check_outputs(study_dir)  # before drawing a figure
    claims = compute_claims(analysis)
    figures = make_figures(analysis, study_dir / FIGURES_DIRNAME)
    figures += tradeoff_figures(analysis, study_dir / FIGURES_DIRNAME)  # Fig. 5: the sweep
    html = render(analysis, claims, figures)
    out = study_dir / REPORT_FILENAME
    atomic_write_text(out, html)
    return ReportOutput(html=out, figures=figures, analysis=analysis, claims=claims)


def _check_outputs(study_dir: Path) -> None:
    """DIR/figures must be a folder (or absent) and DIR/report.html a file (or absent)."""
    figures, html = study_dir / FIGURES_DIRNAME, study_dir / REPORT_FILENAME
    if figures.exists() and not figures.is_dir():
        raise LpmError(f"{figures} is a file, not the figures folder; move it away and run again")
    if html.is_dir():
        raise LpmError(f"{html} is a folder, not the report file; move it away and run again")
