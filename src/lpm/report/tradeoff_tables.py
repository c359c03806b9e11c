"""The tables of the section "How to cut it": the quality of one recipe next to another
(values with their 95 % CIs, the change, the tolerance limit, kept or lost) and every
recipe of the sweep (a failed one as "failed" with its error, never as numbers)."""

from __future__ import annotations

from collections.abc import Sequence

from lpm.report.html import esc, num, prov_mark, table
from lpm.report.tradeoff import MetricChange, TradeoffAnalysis
from lpm.results import QualityMetricRecord, TradeoffPoint


def spread(value: float, std: float | None) -> str:
    """'± 2 %': a spread relative to its value (empty when there is none)."""
    if not std or not value:
        return ""
    return f" ± {100 * std / abs(value):.2g} %"


def _value(rec: QualityMetricRecord | None) -> str:
    if rec is None:
        return "–"
    unit = f" {esc(rec.unit)}" if rec.unit else ""
    ci = "" if rec.ci_low != rec.ci_low else f"<br>[{num(rec.ci_low)} – {num(rec.ci_high)}]"
    return f"{num(rec.value)}{unit}{ci}"


def _within_cell(m: MetricChange) -> str:
    if not m.judged:
        return "not judged"
    if m.within is None:
        return "–"
    return "<b>kept</b>" if m.within else "<b>lost</b>"


def quality_table(changes: Sequence[MetricChange], base: str, other: str) -> str:
    """Each metric of ``other`` next to ``base``: values with CIs, change, limit, kept."""
    rows = []
    for m in changes:
        limit = m.limit
        rows.append(
            [
                esc(m.name),
                _value(m.base),
                _value(m.other),
                m.change_text,
                "–" if limit is None or not m.judged else num(limit),
                _within_cell(m),
                esc((m.base or m.other).better.replace("_", " ")),  # type: ignore[union-attr]
            ]
        )
    headers = ["metric", f"{base} (95 % CI)", f"{other} (95 % CI)", "change", "tolerance limit",
               "within tolerance", "better"]  # fmt: skip
    return table(headers, rows, {1, 2, 3, 4})


def _cell(p: TradeoffPoint, value: float | None, std: float | None = None) -> str:
    if not p.ok:
        return "failed"
    if value is None:
        return "–"
    return num(value) + spread(value, std) + prov_mark(p.provenance)


def points_table(tr: TradeoffAnalysis) -> str:
    metrics = list(tr.shown_metrics)
    fronts = {p.point_id for m in metrics for p in tr.synthesis_front(m)}
    ref = tr.summary.reference if tr.summary else None
    rec = tr.summary.recommended if tr.summary else None
    rows = []
    order = sorted(tr.points, key=lambda p: (p.run, p.sampler, -p.steps, p.batch_size))
    for p in order:
        role = ["reference"] if p.point_id == ref else []
        role += ["recommended"] if p.point_id == rec and rec != ref else []
        role += ["front"] if p.point_id in fronts else []
        role_cell = esc(", ".join(role)) if p.ok else f"<b>failed</b>: {esc(p.error)}"
        quality = [
            "failed" if not p.ok else num(p.metric(m)) if p.metric(m) is not None else "–"
            for m in metrics
        ]
        rows.append(
            [
                esc(p.run),
                esc(p.sampler),
                str(p.steps),
                str(p.batch_size),
                _cell(p, p.energy_per_sample_j_mean, p.energy_per_sample_j_std),
                _cell(p, p.synthesis_co2e_kg, p.synthesis_co2e_kg_std),
                _cell(p, tr.total_co2e(p)),
                *quality,
                "failed" if not p.ok else "yes" if tr.within(p) else "no",
                role_cell,
            ]
        )
    n = f"{tr.target_samples:,}"
    headers = ["run", "sampler", "steps", "batch", "J per sample", f"synthesis kg CO2e ({n})",
               f"+ training kg CO2e ({n})", *metrics, "within tolerance",
               "role (or error)"]  # fmt: skip
    failed = len(tr.failed)
    summary = f"All {len(tr.points)} recipes of the sweep" + (
        f" ({failed} failed)" if failed else ""
    )
    return (
        "<h3 id='tradeoff-points'>Every recipe</h3>"
        f"<details><summary>{summary}</summary>"
        + table(headers, rows, set(range(2, 7 + len(metrics))))
        + "<p class='small'>front: on the Pareto front of synthesis CO2e vs one of the "
        "judged metrics. A failed recipe has no numbers, only its error."
        "</p></details>"
    )
