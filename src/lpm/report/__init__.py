"""lpm.report: the study's analysis (the paper's comparisons), figures and HTML report.

``build_report(DIR)`` reads ``DIR/results.jsonl`` and ``DIR/spec.yaml`` (written by
lpm.study), and ``DIR/quality/`` and ``DIR/tradeoff/`` when the study has them, and writes
``DIR/figures/*.png|pdf`` and ``DIR/report.html``. It never runs a
model; partial results give a partial report whose missing comparisons say "not measured".

Names are imported on first use, so ``lpm.report.results`` (the reader lpm.study uses)
does not pull in matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Analysis": "analysis",
    "PhaseFootprint": "analysis",
    "ScenarioFootprint": "analysis",
    "Series": "analysis",
    "analyze": "analysis",
    "ReportOutput": "build",
    "build_report": "build",
    "Basis": "claims",
    "Claim": "claims",
    "compute_claims": "claims",
    "FigureResult": "figures",
    "make_figures": "figures",
    "ReportSpec": "results",
    "ResultsFile": "results",
    "read_results": "results",
    "read_spec": "results",
    "PhaseEnergy": "scenarios",
    "Scenario": "scenarios",
    "scenario_from_record": "scenarios",
    "Backtest": "sources",
    "read_backtest": "sources",
    "StepsCheck": "tradeoff_steps",
    "steps_check": "tradeoff_steps",
    "TradeoffAnalysis": "tradeoff",
    "analyze_tradeoff": "tradeoff",
    "tradeoff_claims": "claims_tradeoff",
    "fig5_tradeoff": "tradeoff_figure",
    "tradeoff_figures": "tradeoff_figure",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"lpm.report.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'lpm.report' has no attribute {name!r}")
