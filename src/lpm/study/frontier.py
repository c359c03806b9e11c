"""What the sweep's points say: Pareto fronts, tolerance, the recommended recipe, break-even.

Pure Python over :class:`~lpm.results.TradeoffPoint` values (no torch, no numpy), so the
study, the report and tests judge a sweep the same way:

- :func:`pareto_front`: the points no other point beats on both synthesis CO2e and a
  metric (both lower better); equal points are all on it;
- :func:`within_tolerance`: a point's quality is within ``tolerance`` of the reference on
  every judged metric: not shown worse than ``ref + tolerance × |ref|`` at 95 % (the
  better end of its bootstrap CI inside that band; rule "value" compares the values);
- :func:`recommend`: the lowest-CO2e point within tolerance, or the nearest one and why;
- :func:`break_even`: after how many samples a costlier training pays back;
- :func:`summarize`: all of it as the sweep's :class:`~lpm.results.TradeoffSummary`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lpm.results import (
    BreakEven,
    TradeoffPoint,
    TradeoffRun,
    TradeoffSummary,
    metric_best_case,
    metric_score,
)
from lpm.units import J_PER_KWH

JUDGED_METRICS: tuple[str, ...] = ("hu_wasserstein", "tissue_fraction_l1", "frechet_distance")
# Absolute slack of the tolerance test, so that rounding noise around a reference of ~0
# (a Fréchet distance of 2e-17, say) does not decide it.
ATOL = 1e-12
# Trainings whose energies differ by less than this share cost "the same" for the
# break-even: an estimated energy is not known better than that (twins trained side by
# side differed by 0.04 %).
SAME_TRAINING = 0.01


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def score(point: TradeoffPoint, metric: str) -> float | None:
    """The metric as a lower-is-better number, or None if the point lacks a finite one
    (lpm.results.metric_score: "lower" the value, "higher" minus it, "closer_to_floor" the
    distance to the floor)."""
    record = point.quality.get(metric)
    return None if record is None else metric_score(record)


def co2e(point: TradeoffPoint) -> float | None:
    """Synthesis CO2e (kg) for the point's target samples; None for a failed point."""
    value = point.synthesis_co2e_kg
    return value if point.ok and _finite(value) else None


def pareto_front(points: Iterable[TradeoffPoint], metric: str) -> list[TradeoffPoint]:
    """The ok points not dominated on (synthesis CO2e, `metric`), by increasing CO2e.

    A point is dominated when another is no worse on both and better on one; equal
    points do not dominate each other, so all of them are on the front. Points without a
    finite CO2e or metric are left out.
    """
    scored = []
    for p in points:
        c, m = co2e(p), score(p, metric)
        if c is not None and m is not None:
            scored.append((c, m, p.point_id, p))
    scored.sort(key=lambda t: (t[0], t[1], t[2]))
    front: list[TradeoffPoint] = []
    best_below = math.inf  # best metric among points of strictly lower CO2e
    i = 0
    while i < len(scored):
        j = i
        while j < len(scored) and scored[j][0] == scored[i][0]:
            j += 1
        group_best = scored[i][1]  # sorted: the group's first has its best metric
        for _c, m, _, p in scored[i:j]:
            if m < best_below and m == group_best:
                front.append(p)
        best_below = min(best_below, group_best)
        i = j
    return front


def judged_metrics(reference: TradeoffPoint, metrics: Sequence[str]) -> list[str]:
    """The metrics of `metrics` that the reference has a finite value of."""
    return [m for m in metrics if score(reference, m) is not None]


def excess(point: TradeoffPoint, reference: TradeoffPoint, metric: str) -> float:
    """How much worse than the reference, relative to |reference|: 0.05 = 5 % worse.

    Negative when better; inf when the point lacks the metric (or the reference is 0 and
    the point is worse).
    """
    ref, value = score(reference, metric), score(point, metric)
    if ref is None or value is None:
        return math.inf
    if ref == 0:
        return 0.0 if value <= 0 else math.inf
    return (value - ref) / abs(ref)


def worst_excess(
    point: TradeoffPoint, reference: TradeoffPoint, metrics: Sequence[str]
) -> tuple[float, str | None]:
    """The largest :func:`excess` over `metrics` and the metric it is on."""
    worst, name = -math.inf, None
    for m in metrics:
        e = excess(point, reference, m)
        if e > worst:
            worst, name = e, m
    return worst, name


def best_case(point: TradeoffPoint, metric: str) -> float | None:
    """The better end of the metric's 95 % CI, lower-is-better (lpm.results.metric_best_case)."""
    record = point.quality.get(metric)
    return None if record is None else metric_best_case(record)


def within_tolerance(
    point: TradeoffPoint,
    reference: TradeoffPoint,
    metrics: Sequence[str],
    tolerance: float,
    rule: str = "ci",
) -> bool:
    """True when the ok `point` is within `tolerance` of `reference` on every metric.

    Lower-better, with band = ref + tolerance × |ref| (+ :data:`ATOL`):
    rule "ci" (default): the point is not shown worse than the band at 95 % — the better
    end of its CI is inside the band; rule "value": its value is inside the band. With
    tens of samples a metric's CI is often wider than 5 %, so "value" fails a recipe that
    equals the reference about half the time per metric; "ci" fails only what the samples
    show to be worse. A metric either point lacks fails.
    """
    if not point.ok or not metrics:
        return False
    for m in metrics:
        ref = score(reference, m)
        value = best_case(point, m) if rule == "ci" else score(point, m)
        if ref is None or value is None or value > ref + tolerance * abs(ref) + ATOL:
            return False
    return True


@dataclass(frozen=True)
class Recommendation:
    """The outcome of :func:`recommend` (point ids are the points' own)."""

    recommended: TradeoffPoint | None
    closest: TradeoffPoint | None
    within: tuple[TradeoffPoint, ...]
    judged: tuple[str, ...]
    why: str
    saving_fraction: float | None
    saving_co2e_kg: float | None


def _pct(x: float) -> str:
    return f"{100 * x:+.1f} %"


def _saving(point: TradeoffPoint, reference: TradeoffPoint) -> tuple[float | None, float | None]:
    c, ref = co2e(point), co2e(reference)
    if c is None or ref is None:
        return None, None
    return (1.0 - c / ref if ref > 0 else None), ref - c


def recommend(
    points: Sequence[TradeoffPoint],
    reference: TradeoffPoint | None,
    metrics: Sequence[str] = JUDGED_METRICS,
    tolerance: float = 0.05,
) -> Recommendation:
    """The lowest-CO2e ok point within tolerance of `reference` on every judged metric.

    Ties on CO2e go to the smaller worst excess, then the point id. If none is within,
    ``closest`` is the ok point of smallest worst relative excess. Metrics the reference
    has no finite value of are not judged (``why`` names them). Savings are against the
    reference's synthesis CO2e (of the recommended point, else of the closest).
    """
    if reference is None or not reference.ok:
        state = "is not in the sweep" if reference is None else f"failed ({reference.error})"
        name = "the reference" if reference is None else f"the reference {reference.point_id}"
        return Recommendation(None, None, (), (), f"{name} {state}: nothing to judge against",
                              None, None)  # fmt: skip
    judged = judged_metrics(reference, metrics)
    dropped = [m for m in metrics if m not in judged]
    note = f" ({', '.join(dropped)} not judged: the reference has no value)" if dropped else ""
    ok = [p for p in points if co2e(p) is not None]
    if not judged:
        return Recommendation(None, None, (), (), f"no judged metric has a value{note}",
                              None, None)  # fmt: skip
    within = [p for p in ok if within_tolerance(p, reference, judged, tolerance)]
    tol = f"{100 * tolerance:g} %"
    if within:
        best = min(within, key=lambda p: (co2e(p), worst_excess(p, reference, judged)[0],
                                          p.point_id))  # fmt: skip
        frac, kg = _saving(best, reference)
        worst, on = worst_excess(best, reference, judged)
        keeps = f"no judged metric shown more than {tol} worse than {reference.point_id} (95 % CI)"
        if best.point_id == reference.point_id:
            why = f"no recipe emits less than the reference with {keeps}{note}"
            cheaper = [p for p in ok if co2e(p) < co2e(reference)]
            if cheaper:
                near = min(cheaper, key=lambda p: (worst_excess(p, reference, judged)[0],
                                                   p.point_id))  # fmt: skip
                e, m = worst_excess(near, reference, judged)
                why += f"; nearest cheaper: {near.point_id} ({m} {_pct(e)})"
        else:
            less = f"{100 * frac:.1f} % less CO2e" if frac is not None else "less CO2e"
            why = f"{best.point_id} emits {less} than {reference.point_id} with {keeps} "
            why += f"(worst: {on} {_pct(worst)}){note}"
        return Recommendation(best, None, tuple(within), tuple(judged), why, frac, kg)
    if not ok:
        return Recommendation(None, None, (), tuple(judged), "no point of the sweep is ok",
                              None, None)  # fmt: skip
    near = min(ok, key=lambda p: (worst_excess(p, reference, judged)[0], co2e(p), p.point_id))
    worst, on = worst_excess(near, reference, judged)
    frac, kg = _saving(near, reference)
    why = (f"no recipe keeps every judged metric within {tol} of {reference.point_id}; "
           f"closest: {near.point_id} ({on} {_pct(worst)}){note}")  # fmt: skip
    return Recommendation(None, near, (), tuple(judged), why, frac, kg)


def best_of_run(
    points: Sequence[TradeoffPoint], run: str, within: Iterable[str]
) -> tuple[TradeoffPoint | None, bool]:
    """A run's lowest-CO2e point within tolerance (True), else its lowest-CO2e ok point."""
    ids = set(within)
    mine = [p for p in points if p.run == run and co2e(p) is not None]
    good = [p for p in mine if p.point_id in ids]
    pool = good or mine
    if not pool:
        return None, False
    return min(pool, key=lambda p: (co2e(p), p.point_id)), bool(good)


def _per_sample_kwh(point: TradeoffPoint) -> float | None:
    kwh = point.synthesis_it_energy_kwh
    return kwh / point.target_samples if point.ok and _finite(kwh) else None


def break_even_pair(
    a: TradeoffRun, a_point: TradeoffPoint | None, b: TradeoffRun, b_point: TradeoffPoint | None
) -> BreakEven:
    """Samples after which the run of costlier training has paid it back in IT energy.

    The runs are ordered by training energy; n* = (train_B − train_A) / (per_sample_A −
    per_sample_B) when B trains costlier and samples cheaper, else None with a note.
    Computed in IT energy (kWh), so the region and PUE cancel when both phases run in
    the same place.
    """
    ta, tb = a.train_it_energy_kwh, b.train_it_energy_kwh
    if ta is not None and tb is not None and tb < ta:
        a, a_point, b, b_point, ta, tb = b, b_point, a, a_point, tb, ta
    cheap, costly = a.label, b.label
    if ta is None or tb is None:
        missing = a.label if ta is None else b.label
        return BreakEven(cheaper_training=cheap, costlier_training=costly, samples=None,
                         note=f"the training energy of {missing} is unknown")  # fmt: skip
    if a_point is None or b_point is None:
        missing = a.label if a_point is None else b.label
        return BreakEven(cheaper_training=cheap, costlier_training=costly, samples=None,
                         note=f"{missing} has no ok point")  # fmt: skip
    ea, eb = _per_sample_kwh(a_point), _per_sample_kwh(b_point)
    compared = f"{a_point.point_id} vs {b_point.point_id}"
    if ea is None or eb is None:
        return BreakEven(cheaper_training=cheap, costlier_training=costly, samples=None,
                         note=f"{compared}: no synthesis energy")  # fmt: skip
    if abs(tb - ta) <= SAME_TRAINING * max(abs(ta), abs(tb)):
        same = "the same" if tb == ta else f"the same within {SAME_TRAINING:.0%}"
        note = f"{compared}: the trainings cost {same}; the cheaper sampler wins from sample 1"
        return BreakEven(cheaper_training=cheap, costlier_training=costly, samples=None, note=note)
    if eb >= ea:
        note = (
            f"{compared}: {costly} trains costlier and samples no cheaper "
            f"({eb * J_PER_KWH:.3g} vs {ea * J_PER_KWH:.3g} J per sample); it never pays back"
        )
        return BreakEven(cheaper_training=cheap, costlier_training=costly, samples=None,
                         note=note)  # fmt: skip
    n = (tb - ta) / (ea - eb)
    note = (
        f"{compared}: {costly} trains {(tb - ta) * 1000:.3g} Wh costlier and saves "
        f"{(ea - eb) * J_PER_KWH:.3g} J per sample; it pays back after {n:.3g} samples"
    )
    return BreakEven(cheaper_training=cheap, costlier_training=costly, samples=n, note=note)


def break_even(
    runs: Sequence[TradeoffRun], points: Sequence[TradeoffPoint], within: Iterable[str]
) -> list[BreakEven]:
    """:func:`break_even_pair` for every pair of runs, each at :func:`best_of_run`."""
    ids = list(within)
    best = {r.label: best_of_run(points, r.label, ids) for r in runs}
    out = []
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            (pa, wa), (pb, wb) = best[a.label], best[b.label]
            item = break_even_pair(a, pa, b, pb)
            cheapest = [r for r, w, p in ((a.label, wa, pa), (b.label, wb, pb)) if p and not w]
            if cheapest:
                item = item.model_copy(
                    update={
                        "note": item.note
                        + (f" ({', '.join(cheapest)}: none within tolerance, its cheapest point)")
                    }
                )
            out.append(item)
    return out


def summarize(
    points: Sequence[TradeoffPoint],
    runs: Sequence[TradeoffRun],
    reference: str,
    *,
    metrics: Sequence[str] = JUDGED_METRICS,
    tolerance: float = 0.05,
    target_samples: int = 10_000,
    region: str,
    pue: float,
    finished_at: str,
) -> TradeoffSummary:
    """The sweep's summary from its points: fronts, within, recommended, break-even."""
    ref = next((p for p in points if p.point_id == reference), None)
    rec = recommend(points, ref, metrics, tolerance)
    within = [p.point_id for p in rec.within]
    fronts = {m: [p.point_id for p in pareto_front(points, m)] for m in metrics}
    return TradeoffSummary(
        runs=list(runs), reference=reference, tolerance=tolerance, metrics=list(metrics),
        within=within, fronts=fronts,
        recommended=rec.recommended.point_id if rec.recommended else None,
        closest=rec.closest.point_id if rec.closest else None, why=rec.why,
        saving_fraction=rec.saving_fraction, saving_co2e_kg=rec.saving_co2e_kg,
        break_even=break_even(runs, points, within) if len(runs) > 1 else [],
        target_samples=target_samples, region=region, pue=pue, finished_at=finished_at,
    )  # fmt: skip
