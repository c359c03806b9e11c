"""The paper's figures from a study's analysis: PNG and PDF, error bars from the ± std.

Six panels, each a file pair under ``figures/``:

- ``fig1_image_size``: training and synthesis CO2e vs image size, 2D and 3D, with a car-km
  scale on the right axis and the equivalents of the largest value;
- ``fig2_model_size``: CO2e by model size (small/medium/large);
- ``fig3a_regions`` and ``fig3b_months``: one scenario's CO2e in other regions and months;
- ``fig4a_processes`` (1 vs N processes/GPUs) and ``fig4b_steps`` (inference steps).

Each function returns a :class:`FigureResult` holding the series it plotted. Figures are
drawn with matplotlib's object API on the Agg canvas (no pyplot, no display needed).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from lpm.report.analysis import Analysis, Series

COLORS = {"2D": "#3b75af", "3D": "#c4512d", "training": "#6a9f58", "synthesis": "#8c61a8"}
PNG_DPI = 110
PLAIN = FuncFormatter(lambda value, _pos: f"{value:g}")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class FigureResult:
    """One saved figure: its files, caption and the series it shows."""

    name: str
    title: str
    caption: str
    png: Path
    pdf: Path
    series: tuple[Series, ...]

    @property
    def measured(self) -> bool:
        return any(len(s) for s in self.series)


def _kg_label(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.3g}"
    return f"{value:.2g}"


def _new_figure(n_panels: int, width_in: float = 5.0) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(max(1, n_panels) * width_in, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, max(1, n_panels), squeeze=False)[0]
    return fig, list(axes)


def _save(fig: Figure, out_dir: Path, name: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    png, pdf = out_dir / f"{name}.png", out_dir / f"{name}.pdf"
    fig.savefig(png, dpi=PNG_DPI)
    fig.savefig(pdf)
    return png, pdf


def _not_measured(ax: Axes, what: str) -> None:
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        f"not measured in this run:\n{what}",
        ha="center",
        va="center",
        fontsize=11,
        color="#555555",
        transform=ax.transAxes,
    )


def _bars(ax: Axes, series: Series, color: str, *, xlabels: Sequence[str] | None = None) -> None:
    xs = range(len(series))
    ax.bar(xs, series.y, yerr=series.yerr, color=color, capsize=4, edgecolor="black", lw=0.5)
    ax.set_xticks(list(xs), list(xlabels or series.x))
    top = max((y + e for y, e in zip(series.y, series.yerr, strict=True)), default=0.0)
    for x, y, e in zip(xs, series.y, series.yerr, strict=True):
        ax.text(x, y + e, _kg_label(y), ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, top * 1.18 if top > 0 else 1)
    ax.set_ylabel("kg CO2e")
    ax.grid(axis="y", alpha=0.3)


def _panels(
    analysis: Analysis,
    out_dir: Path,
    name: str,
    title: str,
    caption: str,
    series: Sequence[Series],
    xlabel: str,
    missing: str,
    *,
    color_by: str = "dims",
    month_axis: bool = False,
) -> FigureResult:
    """One bar panel per series (linear scale, so ratios read off directly)."""
    fig, axes = _new_figure(len(series), width_in=4.6 if len(series) < 4 else 3.6)
    if not series:
        _not_measured(axes[0], missing)
    for ax, s in zip(axes, series, strict=False):
        color = COLORS[f"{s.dims}D"] if color_by == "dims" else COLORS[s.phase]
        labels = None
        if month_axis:
            labels = [MONTH_NAMES[int(m.split("-")[1]) - 1] if "-" in m else m for m in s.x]
        _bars(ax, s, color, xlabels=labels)
        title_text = f"{s.phase}, {s.dims}D ({s.fixed}; energy {s.provenance})"
        ax.set_title(textwrap.fill(title_text, width=36 if len(series) >= 4 else 48), fontsize=9)
        ax.set_xlabel(xlabel)
        if month_axis:
            ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(textwrap.fill(title, width=max(50, 50 * len(series))), fontsize=11)
    png, pdf = _save(fig, out_dir, name)
    return FigureResult(name, title, caption, png, pdf, tuple(series))


def _phase_text(analysis: Analysis) -> tuple[str, str]:
    t = analysis.spec.targets
    train = f"{t.get('train_iterations', 0):,} iterations"
    synth = f"{t.get('samples', 0):,} samples"
    return train, synth


def _intensity_text(analysis: Analysis) -> str:
    """The one intensity and PUE every compared footprint was stored with."""
    base = analysis.base
    if base is None:
        return analysis.base_region
    return (
        f"{base.region} {base.intensity_g_per_kwh:g} g/kWh ({base.intensity_source}, "
        f"{base.intensity_basis}), PUE {base.pue:g}"
    )


def _equivalents_note(kg: float) -> str:
    from lpm.carbon import equivalents

    eq = equivalents(kg)
    flight = f"{eq.flight_km:,.0f} km flight" if eq.flight_km > 0 else "< shortest flight"
    return (
        f"largest: {_kg_label(kg)} kg CO2e ≈\n{eq.car_km:,.3g} km by car\n"
        f"{eq.smartphone_charges:,.3g} phone charges\n{flight} ({eq.flight_class})\n"
        f"{eq.tree_seedlings_10y:,.3g} tree seedlings × 10 y\n"
        f"{100 * eq.annual_budget_share:.2g} % of annual per-capita budget"
    )


def fig1_image_size(analysis: Analysis, out_dir: Path) -> FigureResult:
    """Fig. 1: training and synthesis CO2e vs image size, 2D and 3D, with equivalents."""
    from lpm.carbon import equivalents

    train_text, synth_text = _phase_text(analysis)
    title = f"CO2e vs image size ({_intensity_text(analysis)})"
    caption = (
        f"Predicted CO2e of training ({train_text}) and synthesis ({synth_text}) for each "
        "image size, 2D and 3D (log scale when the values span more than a factor 10; "
        "error bars: ± one standard deviation). The right "
        "axis reads the same values as km driven in an average new European car; the box "
        "gives the equivalents of the largest bar."
    )
    km_per_kg = equivalents(1.0).car_km
    series = [s for s in analysis.image_size if len(s)]
    fig, axes = _new_figure(2, width_in=5.6)
    for ax, phase in zip(axes, ("training", "synthesis"), strict=True):
        mine = [s for s in series if s.phase == phase]
        if not mine:
            _not_measured(ax, f"no {phase} prediction")
            continue
        pos = 0.0
        ticks, labels = [], []
        for s in mine:
            xs = [pos + i for i in range(len(s))]
            ax.bar(
                xs,
                s.y,
                yerr=s.yerr,
                color=COLORS[f"{s.dims}D"],
                capsize=4,
                edgecolor="black",
                lw=0.5,
                label=f"{s.dims}D ({s.fixed}; energy {s.provenance})",
            )
            for x, y, e in zip(xs, s.y, s.yerr, strict=True):
                ax.text(x, y + e, _kg_label(y), ha="center", va="bottom", fontsize=7)
            ticks += xs
            labels += list(s.x)
            pos += len(s) + 0.8
        ax.set_xticks(ticks, labels, fontsize=8)
        highs = [y + e for s in mine for y, e in zip(s.y, s.yerr, strict=True)]
        if log_span([y for s in mine for y in s.y]) > 1.0:
            ax.set_yscale("log")
            lows = [y - e for s in mine for y, e in zip(s.y, s.yerr, strict=True) if y - e > 0]
            low = min(lows or [min(y for s in mine for y in s.y)])
            ax.set_ylim(low / 3, max(highs) * 6)
        else:
            ax.set_ylim(0, max(highs) * 1.6 if max(highs) > 0 else 1)
        ax.yaxis.set_major_formatter(PLAIN)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel("kg CO2e")
        ax.set_xlabel("image size")
        ax.set_title(f"{phase} ({train_text if phase == 'training' else synth_text})", fontsize=9)
        ax.grid(axis="y", alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="upper left")
        km = ax.secondary_yaxis(
            "right", functions=(lambda kg: kg * km_per_kg, lambda k: k / km_per_kg)
        )
        km.set_ylabel("km by car (108.2 g/km)")
        km.yaxis.set_major_formatter(PLAIN)
        km.yaxis.set_minor_formatter(NullFormatter())
        top = max(y for s in mine for y in s.y)
        ax.text(
            0.98,
            0.97,
            _equivalents_note(top),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=6.5,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "lw": 0.5},
        )
    fig.suptitle(title, fontsize=11)
    png, pdf = _save(fig, out_dir, "fig1_image_size")
    return FigureResult("fig1_image_size", title, caption, png, pdf, tuple(series))


def fig2_model_size(analysis: Analysis, out_dir: Path) -> FigureResult:
    """Fig. 2: CO2e by model size, training and synthesis, per 2D/3D."""
    series = [s for s in analysis.model_size if len(s)]
    title = f"CO2e by model size ({_intensity_text(analysis)})"
    caption = (
        "Predicted CO2e of training and synthesis for each model size at a fixed image size "
        "(panel titles), error bars ± one standard deviation."
    )
    return _panels(
        analysis,
        out_dir,
        "fig2_model_size",
        title,
        caption,
        series,
        "model size",
        "only one model size",
    )


def fig3a_regions(analysis: Analysis, out_dir: Path) -> FigureResult:
    """Fig. 3a: one scenario's training and synthesis CO2e in each region of the spec."""
    series = [s for s in analysis.regions if len(s)]
    src = analysis.spec.region_source or "the tables' usual source per region"
    basis = series[0].basis if series else "?"
    title = f"CO2e by region (annual intensity, {src}, {basis}; PUE applied)"
    caption = (
        "The predicted energy of one scenario (panel titles) placed in each region of the "
        f"study with its yearly carbon intensity (source: {src}; {basis} basis for every "
        "region). Regions without such a value are left out (see the notes)."
    )
    return _panels(
        analysis,
        out_dir,
        "fig3a_regions",
        title,
        caption,
        series,
        "region",
        "no regions",
        color_by="phase",
    )


def fig3b_months(analysis: Analysis, out_dir: Path) -> FigureResult:
    """Fig. 3b: one scenario's CO2e in each month of the spec's month region."""
    series = [s for s in analysis.months if len(s)]
    spec = analysis.spec
    year = spec.months[0].split("-")[0] if spec.months else ""
    title = f"CO2e by month ({spec.months_region} {year}, monthly intensity)"
    basis = series[0].basis if series else spec.months_basis or "?"
    caption = (
        f"The predicted energy of one scenario with the monthly mean carbon intensity of "
        f"{spec.months_region} ({basis} basis for every month, source "
        "electricitymaps_hourly). Months without such a value are left out (see the notes)."
    )
    return _panels(
        analysis,
        out_dir,
        "fig3b_months",
        title,
        caption,
        series,
        "month",
        "no months",
        color_by="phase",
        month_axis=True,
    )


def fig4a_processes(analysis: Analysis, out_dir: Path) -> FigureResult:
    """Fig. 4a: training CO2e with 1 vs N processes (GPUs)."""
    series = [s for s in analysis.processes if len(s)]
    title = f"Training CO2e, 1 vs N processes ({_intensity_text(analysis)})"
    caption = (
        "Predicted training CO2e with one and with several processes (GPUs), the other "
        "settings fixed (panel titles)."
    )
    return _panels(
        analysis,
        out_dir,
        "fig4a_processes",
        title,
        caption,
        series,
        "processes (GPUs)",
        "a single process count",
    )


def fig4b_steps(analysis: Analysis, out_dir: Path) -> FigureResult:
    """Fig. 4b: synthesis CO2e by number of inference (denoising) steps."""
    series = [s for s in analysis.steps if len(s)]
    title = f"Synthesis CO2e by inference steps ({_intensity_text(analysis)})"
    caption = (
        "Predicted synthesis CO2e for each number of denoising steps, the other settings "
        "fixed (panel titles). Each step count's prediction rests on its own sampling run "
        "(unless the study set measure.sample_steps) and includes the fixed per-sample "
        "cost, which fewer steps do not reduce; see 'Synthesis per sample' below."
    )
    return _panels(
        analysis,
        out_dir,
        "fig4b_steps",
        title,
        caption,
        series,
        "inference steps",
        "a single step count",
    )


FIGURES = (
    fig1_image_size,
    fig2_model_size,
    fig3a_regions,
    fig3b_months,
    fig4a_processes,
    fig4b_steps,
)


def make_figures(analysis: Analysis, out_dir: str | Path) -> tuple[FigureResult, ...]:
    """All six panels as PNG and PDF under ``out_dir``."""
    out = Path(out_dir)
    return tuple(make(analysis, out) for make in FIGURES)


def log_span(values: Sequence[float]) -> float:
    """Orders of magnitude between the smallest positive and the largest value."""
    positive = [v for v in values if v > 0]
    return math.log10(max(positive) / min(positive)) if len(positive) > 1 else 0.0
