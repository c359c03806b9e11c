"""The study's energy–quality sweep as the report reads it (``DIR/tradeoff/``).

``DIR/tradeoff/tradeoff.jsonl`` (one :class:`~lpm.results.TradeoffPoint` per recipe: run ×
sampler × steps × batch) and ``tradeoff.json`` (the :class:`~lpm.results.TradeoffSummary`:
reference, tolerance, points within it, fronts, recommended recipe, break-even), both
written by lpm.study's sweep. The report recomputes none of the sweep's conclusions; it
adds what only the report shows: training + synthesis CO2e per point (the run's training
footprint plus the point's synthesis of ``target_samples``), its Pareto front, the quality
of one point next to another with the sweep's tolerance (the paper's 200-vs-1000-step pair
is :mod:`lpm.report.tradeoff_steps`). A study without the folder (every study before issue 11) reads
as None.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.report import paper
from lpm.results import (
    TRADEOFF_DIR,
    QualityMetricRecord,
    QualityRecord,
    TradeoffPoint,
    TradeoffRun,
    TradeoffSummary,
    metric_best_case,
    metric_score,
    read_tradeoff,
)
from lpm.sizes import parse_size, size_label

#: The judged fidelity metrics when the sweep has no summary yet (the sweep's defaults).
DEFAULT_METRICS = ("hu_wasserstein", "tissue_fraction_l1", "frechet_distance")
#: The metric of Fig. 5's main panel when the sweep judged it.
MAIN_METRIC = "hu_wasserstein"
#: Metrics shown beside the judged ones (never judged).
BESIDE_METRICS = ("ms_ssim", "copy_rate")
DEFAULT_TOLERANCE = 0.05


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def score(record: QualityMetricRecord) -> float | None:
    """A metric as a lower-is-better number (the sweep's rule, lpm.results.metric_score)."""
    return metric_score(record)


@dataclass(frozen=True)
class MetricChange:
    """One quality metric of a point next to a base point (the reference, or 1000 steps).

    ``limit`` is the tolerance band's edge (lower-better: ``base + tolerance × |base|``);
    ``within``: the better end of the point's CI is inside it (None when either point
    lacks the metric).
    """

    name: str
    base: QualityMetricRecord | None
    other: QualityMetricRecord | None
    tolerance: float
    judged: bool

    @property
    def excess(self) -> float | None:
        """How much worse than the base, relative to |base| (0.05 = 5 % worse)."""
        if self.base is None or self.other is None:
            return None
        b, o = score(self.base), score(self.other)
        if b is None or o is None:
            return None
        if b == 0:
            return 0.0 if o <= 0 else math.inf
        return (o - b) / abs(b)

    @property
    def change(self) -> float | None:
        """The relative change of the value itself: (other − base) / |base|."""
        if self.base is None or self.other is None or not self.base.value:
            return None
        return (self.other.value - self.base.value) / abs(self.base.value)

    @property
    def change_text(self) -> str:
        """The change in percent, '+4.0 %' ('+0.0 %' for a change that rounds to zero)."""
        if self.change is None:
            return "–"
        pct = 100 * self.change
        return f"{0.0 if abs(pct) < 0.05 else pct:+.1f} %"

    @property
    def limit(self) -> float | None:
        """The worst value of ``other`` within tolerance (lower- and higher-better)."""
        if self.base is None or not _finite(self.base.value):
            return None
        margin = self.tolerance * abs(self.base.value)
        if self.base.better == "higher":
            return self.base.value - margin
        if self.base.better == "lower":
            return self.base.value + margin
        return None

    @property
    def within(self) -> bool | None:
        """The sweep's rule: not shown worse than the limit, i.e. the better end of the
        point's 95 % CI inside ``base + tolerance × |base|`` (lower-is-better)."""
        if self.base is None or self.other is None:
            return None
        b, best = score(self.base), metric_best_case(self.other)
        if b is None or best is None:
            return None
        return best <= b + self.tolerance * abs(b) + 1e-12

    @property
    def ci_overlap(self) -> bool | None:
        """True when the two 95 % intervals overlap (the change may be noise)."""
        if self.base is None or self.other is None:
            return None
        lo = max(self.base.ci_low, self.other.ci_low)
        hi = min(self.base.ci_high, self.other.ci_high)
        if not (_finite(lo) and _finite(hi)):
            return None
        return lo <= hi


@dataclass(frozen=True)
class TradeoffAnalysis:
    """The sweep of one study: its points and summary, with the report's additions."""

    directory: Path
    points: tuple[TradeoffPoint, ...]
    summary: TradeoffSummary | None
    notes: tuple[str, ...] = ()
    #: The swept model in words ("2D 32² small"), and whether it is the paper's 3D model.
    model: str = ""
    paper_model: bool = False

    @property
    def model_text(self) -> str:
        """The swept model and its runs next to the paper's, in words."""
        runs = ", ".join(
            f"{r.label} ({r.objective}, {r.train_iterations:,} iterations)"
            for r in self.runs.values()
        )
        what = f"the study's {self.model} model" if self.model else "the study's model"
        what += f" (runs: {runs})" if runs else ""
        if self.paper_model:
            return f"{what}, the paper's largest 3D size"
        return f"{what}, not the paper's 3D {size_label(paper.PAPER_SIZES[3][-1])} model"

    @property
    def ok(self) -> tuple[TradeoffPoint, ...]:
        return tuple(p for p in self.points if p.ok and _finite(p.synthesis_co2e_kg))

    @property
    def failed(self) -> tuple[TradeoffPoint, ...]:
        return tuple(p for p in self.points if not p.ok)

    @property
    def runs(self) -> dict[str, TradeoffRun]:
        return {r.label: r for r in self.summary.runs} if self.summary else {}

    @property
    def tolerance(self) -> float:
        return self.summary.tolerance if self.summary else DEFAULT_TOLERANCE

    @property
    def metrics(self) -> tuple[str, ...]:
        """The judged metrics (the summary's; before it exists, the sweep's defaults)."""
        return tuple(self.summary.metrics) if self.summary else DEFAULT_METRICS

    @property
    def target_samples(self) -> int:
        if self.summary:
            return self.summary.target_samples
        return self.points[0].target_samples if self.points else 10_000

    def point(self, point_id: str | None) -> TradeoffPoint | None:
        return next((p for p in self.points if p.point_id == point_id), None)

    @property
    def reference(self) -> TradeoffPoint | None:
        return self.point(self.summary.reference) if self.summary else None

    @property
    def recommended(self) -> TradeoffPoint | None:
        return self.point(self.summary.recommended) if self.summary else None

    @property
    def closest(self) -> TradeoffPoint | None:
        return self.point(self.summary.closest) if self.summary else None

    @property
    def main_metric(self) -> str:
        """Fig. 5's main metric: HU Wasserstein if judged and measured, else the first."""
        shown = self.shown_metrics
        return MAIN_METRIC if MAIN_METRIC in shown else (shown[0] if shown else MAIN_METRIC)

    @property
    def shown_metrics(self) -> tuple[str, ...]:
        """The judged metrics that some ok point has a value of."""
        return tuple(m for m in self.metrics if any(m in p.quality for p in self.ok))

    @property
    def provenance(self) -> Provenance | None:
        provs = [p.provenance for p in self.ok]
        return Provenance.combine(provs) if provs else None

    def within(self, point: TradeoffPoint) -> bool:
        return bool(self.summary) and point.point_id in self.summary.within  # type: ignore[union-attr]

    @property
    def best_total(self) -> TradeoffPoint | None:
        """The point within tolerance of lowest training + synthesis CO2e (None: none)."""
        pool = [p for p in self.ok if self.within(p) and self.total_co2e(p) is not None]
        return min(pool, key=lambda p: (self.total_co2e(p), p.point_id)) if pool else None

    def nearest(self, ref: TradeoffPoint, below_kg: float | None = None) -> TradeoffPoint | None:
        """The point cheaper than ``below_kg`` (default: the reference's synthesis CO2e)
        of smallest worst excess over the judged metrics; ties to the cheaper one."""
        limit = (ref.synthesis_co2e_kg or 0.0) if below_kg is None else below_kg
        cheaper = [p for p in self.ok if (p.synthesis_co2e_kg or 0.0) < limit]

        def key(p: TradeoffPoint) -> tuple:
            found = [m.excess for m in self.compare(p, ref) if m.judged and m.excess is not None]
            return (max(found) if found else math.inf, p.synthesis_co2e_kg, p.point_id)

        return min(cheaper, key=key) if cheaper else None

    def train_co2e(self, point: TradeoffPoint) -> float | None:
        run = self.runs.get(point.run)
        return run.train_co2e_kg if run is not None else None

    def total_co2e(self, point: TradeoffPoint) -> float | None:
        """Training of the point's run + synthesis of ``target_samples`` (kg CO2e)."""
        train, synth = self.train_co2e(point), point.synthesis_co2e_kg
        if not point.ok or not _finite(train) or not _finite(synth):
            return None
        return train + synth  # type: ignore[operator]

    def synthesis_front(self, metric: str) -> tuple[TradeoffPoint, ...]:
        """The sweep's Pareto front of synthesis CO2e vs ``metric`` (the report's own
        when the summary has none, e.g. a sweep still running)."""
        if self.summary and metric in self.summary.fronts:
            found = (self.point(i) for i in self.summary.fronts[metric])
            return tuple(p for p in found if p is not None)
        return pareto(self.ok, lambda p: p.synthesis_co2e_kg, metric)

    def total_front(self, metric: str) -> tuple[TradeoffPoint, ...]:
        """The Pareto front of training + synthesis CO2e vs ``metric`` (the report's)."""
        return pareto(self.ok, self.total_co2e, metric)

    def compare(self, point: TradeoffPoint, base: TradeoffPoint) -> tuple[MetricChange, ...]:
        """The judged metrics, then those beside them, of ``point`` next to ``base``."""
        names = list(self.metrics) + [m for m in BESIDE_METRICS if m not in self.metrics]
        out = []
        for name in names:
            b, o = base.quality.get(name), point.quality.get(name)
            if b is None and o is None:
                continue
            out.append(MetricChange(name, b, o, self.tolerance, name in self.metrics))
        return tuple(out)


def pareto(
    points: Iterable[TradeoffPoint], cost: Callable[[TradeoffPoint], float | None], metric: str
) -> tuple[TradeoffPoint, ...]:
    """The points no other point beats on both ``cost`` and ``metric`` (lower better),
    by increasing cost; equal points are all on it, points lacking a value left out."""
    scored = []
    for p in points:
        c, record = cost(p), p.quality.get(metric)
        m = score(record) if record is not None else None
        if _finite(c) and m is not None:
            scored.append((c, m, p))
    front = [
        (c, m, p)
        for c, m, p in scored
        if not any(c2 <= c and m2 <= m and (c2 < c or m2 < m) for c2, m2, _ in scored)
    ]
    front.sort(key=lambda t: (t[0], t[1], t[2].point_id))
    return tuple(p for _, _, p in front)


def _swept_model(quality: QualityRecord | None, stage: Any) -> tuple[str, bool]:
    """The stage's own model (its spec's ``setting``), else the quality stage's, in words."""
    setting = stage.get("setting") if isinstance(stage, dict) else None
    try:
        if isinstance(setting, dict):
            dims = int(setting.get("dims", 2))
            size = parse_size(setting.get("size", 32), dims)
            model = str(setting.get("model", "small"))
        elif quality is not None:
            dims, size, model = (
                quality.setting.dims,
                tuple(quality.setting.size),
                quality.setting.model,
            )
        else:
            return "", False
    except (LpmError, TypeError, ValueError):
        return "", False
    return f"{dims}D {size_label(size)} {model}", (dims, size) == (3, paper.PAPER_SIZES[3][-1])


def analyze_tradeoff(
    study_dir: str | Path, *, quality: QualityRecord | None = None, stage: Any = None
) -> TradeoffAnalysis | None:
    """The sweep in ``DIR/tradeoff/``, or None when the study has none.

    ``quality`` (the study's quality record) and ``stage`` (the spec's ``tradeoff``
    section) say which model was swept. A damaged record is an LpmError naming its file
    (the report turns it into a note).
    """
    directory = Path(study_dir) / TRADEOFF_DIR
    if not directory.is_dir():
        return None
    points, summary = read_tradeoff(directory)
    if not points and summary is None:
        return None
    notes = []
    if summary is None:
        notes.append(
            f"the sweep in {directory} has {len(points)} point(s) but no summary "
            "(tradeoff.json) yet: no reference, recommendation or break-even to show"
        )
    else:
        ids = {p.point_id for p in points}
        named = [summary.reference, summary.recommended, summary.closest, *summary.within]
        missing = sorted({i for i in named if i and i not in ids})
        if missing:
            notes.append(
                f"the sweep's summary names point(s) its tradeoff.jsonl lacks: {', '.join(missing)}"
            )
    model, is_paper = _swept_model(quality, stage)
    return TradeoffAnalysis(directory, tuple(points), summary, tuple(notes), model, is_paper)
