"""Fig. 5, the energy–quality frontier of the study's sweep (``figures/fig5_tradeoff``).

Top row, the main metric (HU Wasserstein when judged): x = CO2e of training + synthesis of
``target_samples`` samples (left) and of synthesis alone (right), log scale; y = the
metric (lower is better). Every ok point of the sweep is drawn, coloured by sampler and
shaped by batch size, with its steps written next to it; the Pareto front is the dashed
line, the tolerance limit of the reference a dotted line, the reference and the
recommended recipe are circled and named. A second row (training + synthesis) shows each
further judged metric. Failed points are not drawn (the caption counts them). Each group
(view, metric, run, sampler, batch) is one :class:`~lpm.report.analysis.Series` of the
returned :class:`~lpm.report.figures.FigureResult`: y = CO2e, values = the metric.
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from lpm.report.analysis import Analysis, Series
from lpm.report.figures import FigureResult, _save
from lpm.report.tradeoff import TradeoffAnalysis
from lpm.results import TradeoffPoint

NAME = "fig5_tradeoff"
SAMPLER_COLORS = ("#3b75af", "#c4512d", "#6a9f58", "#8c61a8", "#d19a1f", "#4a9fb0", "#a8556e")
BATCH_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
TOTAL, SYNTHESIS = "training + synthesis", "synthesis"


def _label(point: TradeoffPoint, several_runs: bool) -> str:
    return f"{point.sampler} ({point.run} run)" if several_runs else point.sampler


def _name(point: TradeoffPoint, several_runs: bool) -> str:
    return point.point_id if several_runs else point.recipe


def _kg_axis(ax: Axes, xs: list[float]) -> None:
    ax.set_xscale("log")
    low, high = min(xs), max(xs)
    pad = 10 ** max(0.15, 0.08 * math.log10(high / low)) if high > low else 3.0
    ax.set_xlim(low / pad, high * pad)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.3g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _series(tr: TradeoffAnalysis, view: str, metric: str, cost: dict[str, float]) -> list[Series]:
    groups: dict[tuple[str, str, int], list[TradeoffPoint]] = {}
    for p in tr.ok:
        if p.point_id in cost and metric in p.quality:
            groups.setdefault((p.run, p.sampler, p.batch_size), []).append(p)
    out = []
    for (run, sampler, batch), pts in groups.items():
        pts.sort(key=lambda p: -p.steps)
        std = [p.synthesis_co2e_kg_std or 0.0 for p in pts]
        out.append(
            Series(
                name=f"{view} vs {metric}: {run} {sampler} b{batch}",
                phase=view,
                dims=None,
                axis=metric,
                x=tuple(p.point_id for p in pts),
                y=tuple(cost[p.point_id] for p in pts),
                yerr=tuple(std),
                values=tuple(p.quality[metric].value for p in pts),
                fixed=f"{run}, {sampler}, batch {batch}",
                provenances=tuple(p.provenance for p in pts),
            )
        )
    return out


#: Heights (axes fraction) of the labels of the reference, the recommended recipe and the
#: lowest with training, in the headroom above the points (they never overlap).
LABEL_Y = (0.95, 0.87, 0.79)
HEADROOM = 0.45


def _mark(ax: Axes, x: float, y: float, text: str, color: str, height: float) -> None:
    """Circle the point (x, y) and name it at ``height`` in the panel's headroom."""
    ax.scatter([x], [y], s=260, facecolors="none", edgecolors=color, linewidths=1.8, zorder=5)
    fx = ax.transAxes.inverted().transform(ax.transData.transform((x, y)))[0]
    left = fx < 0.5  # the label runs from the point towards the middle, inside the panel
    ax.annotate(
        text,
        (x, y),
        xytext=(max(0.02, fx - 0.04) if left else min(0.98, fx + 0.04), height),
        textcoords="axes fraction",
        ha="left" if left else "right",
        va="center",
        fontsize=7.5,
        color=color,
        fontweight="bold",
        arrowprops={"arrowstyle": "-", "color": color, "lw": 0.8, "alpha": 0.7},
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.9, "lw": 0},
        zorder=6,
    )


def _panel(
    ax: Axes, tr: TradeoffAnalysis, view: str, metric: str, styles: dict, legend: bool
) -> list[Series]:
    cost_of = tr.total_co2e if view == TOTAL else (lambda p: p.synthesis_co2e_kg)
    cost = {p.point_id: c for p in tr.ok if (c := cost_of(p)) is not None and c > 0}
    series = _series(tr, view, metric, cost)
    if not series:
        ax.set_axis_off()
        why = "no training CO2e of the runs" if view == TOTAL else f"no point with {metric}"
        ax.text(0.5, 0.5, f"not measured in this sweep:\n{why}", ha="center", va="center",
                transform=ax.transAxes, color="#555555")  # fmt: skip
        return []
    several = len({p.run for p in tr.ok}) > 1
    unit = ""
    for s in series:
        first = tr.point(s.x[0])
        color, marker = styles[_label(first, several)], styles[first.batch_size]
        ax.errorbar(list(s.y), list(s.values), xerr=list(s.yerr) if view == SYNTHESIS else None,
                    fmt=marker, color=color, ms=6, mec="black", mew=0.4, ecolor=color,
                    elinewidth=0.6, capsize=0, zorder=3)  # fmt: skip
        for pid, x, y in zip(s.x, s.y, s.values, strict=True):
            p = tr.point(pid)
            unit = p.quality[metric].unit or unit
            if p.batch_size == min(q.batch_size for q in tr.ok if q.sampler == p.sampler):
                ax.annotate(str(p.steps), (x, y), xytext=(0, 5), textcoords="offset points",
                            fontsize=6, ha="center", color="#333333")  # fmt: skip
    front = tr.total_front(metric) if view == TOTAL else tr.synthesis_front(metric)
    front = [p for p in front if p.point_id in cost]
    if front:
        fx = [cost[p.point_id] for p in front]
        fy = [p.quality[metric].value for p in front]
        ax.step(fx, fy, where="post", ls="--", color="#444444", lw=1.0, zorder=2)
    ref = tr.reference
    if ref is not None and ref.point_id in cost and metric in ref.quality:
        rv = ref.quality[metric]
        ax.axhline(rv.value + tr.tolerance * abs(rv.value), ls=":", color="#999999", lw=1.0)
    _kg_axis(ax, list(cost.values()))
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + HEADROOM * (high - low))
    marks = []
    if ref is not None and ref.point_id in cost and metric in ref.quality:
        marks.append((ref, f"reference: {_name(ref, several)}", "#b22222"))
    rec = tr.recommended or tr.closest
    if rec is not None and rec is not ref and rec.point_id in cost and metric in rec.quality:
        word = "recommended" if tr.recommended is not None else "closest"
        marks.append((rec, f"{word}: {_name(rec, several)}", "#1d5e1a"))
    best = tr.best_total
    if view == TOTAL and best is not None and best not in (rec, ref) and metric in best.quality:
        marks.append((best, f"least with training: {_name(best, several)}", "#8a4100"))
    for (p, text, color), height in zip(marks, LABEL_Y, strict=False):
        _mark(ax, cost[p.point_id], p.quality[metric].value, text, color, height)
    kind = "training + synthesis" if view == TOTAL else "synthesis only"
    ax.set_xlabel(f"kg CO2e, {kind} of {tr.target_samples:,} samples (log)")
    ax.set_ylabel(f"{metric}{f' ({unit})' if unit else ''}, lower is better")
    ax.grid(alpha=0.3, which="both")
    ax.set_title(f"{metric} vs CO2e, {kind}", fontsize=9)
    if legend:
        _legend(ax, tr, styles, several)
    return series


def _legend(ax: Axes, tr: TradeoffAnalysis, styles: dict, several: bool) -> None:
    samplers = sorted({_label(p, several) for p in tr.ok})
    batches = sorted({p.batch_size for p in tr.ok})
    handles = [Line2D([], [], ls="", marker="o", color=styles[s], mec="black", mew=0.4,
                      label=s) for s in samplers]  # fmt: skip
    handles += [Line2D([], [], ls="", marker=styles[b], color="#bbbbbb", mec="black", mew=0.4,
                       label=f"batch {b}") for b in batches]  # fmt: skip
    handles.append(Line2D([], [], ls="--", color="#444444", label="Pareto front"))
    if tr.reference is not None:
        pct = f"{100 * tr.tolerance:g} %"
        handles.append(Line2D([], [], ls=":", color="#999999", label=f"reference + {pct}"))
    ax.figure.legend(handles=handles, fontsize=7.5, loc="outside lower center",
                     ncol=len(handles), frameon=False)  # fmt: skip


def _styles(tr: TradeoffAnalysis) -> dict:
    several = len({p.run for p in tr.ok}) > 1
    samplers = sorted({_label(p, several) for p in tr.points})
    batches = sorted({p.batch_size for p in tr.points})
    styles: dict = {s: SAMPLER_COLORS[i % len(SAMPLER_COLORS)] for i, s in enumerate(samplers)}
    styles.update({b: BATCH_MARKERS[i % len(BATCH_MARKERS)] for i, b in enumerate(batches)})
    return styles


def fig5_tradeoff(tr: TradeoffAnalysis, out_dir: Path) -> FigureResult:
    """Fig. 5 of the sweep ``tr``: the energy–quality frontier, PNG and PDF."""
    main = tr.main_metric
    others = [m for m in tr.shown_metrics if m != main]
    rows = 2 if others else 1
    cols = max(2, len(others))
    fig = Figure(figsize=(6.0 * cols, 4.6 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    styles = _styles(tr)
    series = _panel(axes[0][0], tr, TOTAL, main, styles, legend=True)
    series += _panel(axes[0][1], tr, SYNTHESIS, main, styles, legend=False)
    for i in range(cols) if rows == 2 else ():
        if i < len(others):
            series += _panel(axes[1][i], tr, TOTAL, others[i], styles, legend=False)
        else:
            axes[1][i].set_axis_off()
    prov = tr.provenance.value if tr.provenance else "no"
    title = (
        f"Energy–quality frontier: {len(tr.ok)} recipes (run × sampler × steps × batch) "
        f"of the study's model, energy {prov}"
    )
    fig.suptitle(title, fontsize=11)
    png, pdf = _save(fig, out_dir, NAME)
    failed = len(tr.failed)
    caption = (
        f"Every recipe of the study's sweep: CO2e of {tr.target_samples:,} samples (training "
        "of the recipe's run + its synthesis, and synthesis alone; log scale) against the "
        "quality of its samples (lower is better; the numbers next to the points are the "
        "steps; quality does not depend on the batch, so the batches of one step count lie "
        "on one level). Colour: sampler; marker: batch size. Dashed: the Pareto front "
        "(no recipe is cheaper and better); dotted: the reference's value plus the "
        f"tolerance ({100 * tr.tolerance:g} %). Bars on the synthesis panel: ± one std of "
        "the energy."
        + (f" {failed} failed recipe(s) are not drawn (see the table below)." if failed else "")
    )
    return FigureResult(NAME, title, caption, png, pdf, tuple(series))


def tradeoff_figures(analysis: Analysis, out_dir: str | Path) -> tuple[FigureResult, ...]:
    """Fig. 5 when the study has a sweep with an ok point, else nothing."""
    tr = analysis.tradeoff
    if tr is None or not tr.ok:
        return ()
    return (fig5_tradeoff(tr, Path(out_dir)),)
