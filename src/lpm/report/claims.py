"""The paper's claims next to this run's numbers, grouped by what they rest on.

Every claim carries its :class:`Basis`:

- ``measured``: it rests on this study's measurements, so it can agree or differ with the
  paper; its verdict (agrees / differs / not measured) has an explicit tolerance;
- ``tables``: it follows from lpm's packaged carbon-intensity tables only (the region and
  month ratios: the energy cancels), so it is shown "from tables", without a verdict;
- ``model``: it follows from a model or assumption (the prediction rule; a synthesis
  energy scaled from one measured step count), so it is shown "by construction" or with
  the backtest that checks the model, never with "agrees" / "differs".

Each claim also states the provenance (measured / estimated / simulated / mixed) of the
energies it rests on, from the typed records, and the reasons the run can differ from
the paper (hardware, sizes, model presets, power, the short measurement). Over 400 lines
because it holds one thing: the list of the paper's claims, one function each.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from lpm.provenance import Provenance
from lpm.report import paper
from lpm.report.analysis import Analysis, Series
from lpm.report.claim import (  # noqa: F401  (re-exported: the names of lpm.report.claims)
    AGREES,
    BACKTESTED,
    BASIS_ORDER,
    BASIS_TITLES,
    BY_CONSTRUCTION,
    DIFFERS,
    FROM_TABLES,
    JUDGEMENTS,
    NO_BACKTEST,
    NOT_MEASURED,
    PROVENANCE_WORDS,
    Basis,
    Claim,
    hardware_text,
    provenance_text,
)
from lpm.report.claim import j_text as _j
from lpm.report.claim import kg_text as _kg
from lpm.report.claims_tradeoff import tradeoff_claims
from lpm.report.scenarios import Scenario, SynthesisMeasurement
from lpm.report.sources import Backtest
from lpm.sizes import size_label

#: Tolerances of the verdicts (stated in the report next to each claim).
EXPONENT_TOLERANCE = 0.25
MODEL_PCT_TOLERANCE = 10.0
PROCESSES_SIGNIFICANT_PCT = -10.0
STEPS_PCT_TOLERANCE = 10.0
ABSOLUTE_FACTOR = 2.0


def _pct(value: float) -> str:
    return f"{value:+.0f} %"


def _find(series: Iterable[Series], name: str) -> Series | None:
    return next((s for s in series if s.name == name), None)


def _rests_on(series: Iterable[Series | None]) -> tuple[Provenance | None, str]:
    provs = [p for s in series if s is not None for p in s.provenances]
    if not provs:
        return None, ""
    return Provenance.combine(provs), _count_text(provs)


def _count_text(provs: list[Provenance]) -> str:
    n = len(provs)
    return f"{n} prediction{'s' if n != 1 else ''}, {provenance_text(provs)}"


def backtest_text(
    backtest: Backtest | None, phase: str, fraction: float | None = None, *, where: bool = False
) -> str:
    """The backtest's error for a phase's prediction, at the share nearest ``fraction``.

    ``where`` adds the machine, date and setup of the backtest.
    """
    if backtest is None:
        return "no backtest on record"
    run = backtest.run(phase)
    point = run.nearest(fraction or 0.0) if run is not None else None
    if run is None or point is None:
        return f"no {phase} backtest on record"
    inside = "inside" if point.inside_ci95 else "outside"
    std = ""
    if point.inside_std is not None:
        std = f"{'inside' if point.inside_std else 'outside'} ± 1 std, "
    text = (
        f"{point.error_pct:+.1f} % when predicted from {point.fraction:.0%} of "
        f"{run.target:,} {run.unit} (backtest; measured total {std}{inside} the 95 % "
        "interval)"
    )
    if where:
        text += f" on {backtest.machine}, {backtest.date}, {run.setup}; {run.summary()}"
    smallest = min(p.fraction for p in run.points)
    if fraction is not None and fraction < smallest / 2:
        text += (
            f"; this run predicts from {_share_pct(fraction)} of its target, below every "
            "backtested share, so its error may be larger"
        )
    return text


def _share_pct(fraction: float) -> str:
    return f"{100 * fraction:.2g} %"


class _Context:
    """The facts about this run that explain differences from the paper."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        scen = [i.scenario for i in analysis.scenarios]
        hw = analysis.hardware()
        self.hardware = hardware_text(hw[0]) if hw else "unknown hardware"
        self.n = len(scen)
        self.provenances = [s.provenance for s in scen]
        measured = [s.measured for s in scen if s.measured]
        self.train_measured = sorted(
            {int(m["train_iterations"]) for m in measured if m.get("train_iterations")}
        )
        self.sample_measured = sorted({int(m["samples"]) for m in measured if m.get("samples")})

    def scenario(self, scenario_id: str) -> Scenario | None:
        return self.analysis.scenario(scenario_id)

    def hardware_reason(self) -> str:
        return f"hardware: this run {self.hardware}; the paper {paper.PAPER_HARDWARE}"

    def power_reason(self) -> str:
        if self.provenances and all(p.is_measured for p in self.provenances):
            return "power: measured by energy counters, as in the paper (Carbontracker)"
        counts = Counter(self.provenances)
        if len(counts) == 1:
            (prov,) = counts
            parts = f"all {self.n} scenarios {prov.value}"
        else:
            parts = f"of {self.n} scenarios " + ", ".join(
                f"{n} {p.value}" for p, n in counts.most_common()
            )
        kinds = "; ".join(f"{p.value}: {PROVENANCE_WORDS[p]}" for p in counts if not p.is_measured)
        return f"power: {parts} ({kinds}); the paper measured GPU and CPU with Carbontracker"

    def budget_reason(self) -> str:
        train = "/".join(map(str, self.train_measured)) or "?"
        sample = "/".join(map(str, self.sample_measured)) or "?"
        return (
            f"prediction: from {train} measured training iterations and {sample} measured "
            f"samples per step count; the paper measured {paper.PAPER_MEASURED}"
        )

    def sizes_reason(self, series: Series | None, dims: int) -> str:
        ours = f"{series.x[0]}–{series.x[-1]}" if series and len(series) else "none"
        theirs = [size_label(s) for s in paper.PAPER_SIZES[dims]]
        return f"sizes: this run {dims}D {ours}, the paper {theirs[0]}–{theirs[-1]}"

    def run_differences(self) -> tuple[str, ...]:
        """Why any number of this run can differ from the paper's (stated once)."""
        return (self.hardware_reason(), self.power_reason(), self.budget_reason())

    def why(self, *extra: str, hardware: bool = True) -> str:
        parts = [p for p in extra if p]
        if hardware:
            parts.append("and the run-wide differences (hardware, power, prediction)")
        return "; ".join(parts)


def _not_measured(key: str, topic: str, section: str, text: str, rule: str, what: str) -> Claim:
    return Claim(key, topic, section, text, f"not measured: {what}", None, NOT_MEASURED, rule, "")


def _scaled_text(ctx: _Context, series: Iterable[Series | None]) -> str:
    """How many synthesis points were scaled from another step count (empty if none)."""
    ids = [i for s in series if s is not None and s.phase == "synthesis" for i in s.scenario_ids]
    scaled = []
    for sid in ids:
        scenario = ctx.scenario(sid)
        m = scenario.sample_measurement if scenario else None
        if m is not None and not m.direct:
            scaled.append(m.steps)
    if not scaled:
        return ""
    at = "/".join(str(n) for n in sorted(set(scaled)))
    return f"; {len(scaled)} of {len(ids)} synthesis energies scaled from {at} measured steps"


def _measured(
    ctx: _Context,
    key: str,
    topic: str,
    section: str,
    text: str,
    run: str,
    value: float | None,
    verdict: str,
    rule: str,
    why: str,
    series: Iterable[Series | None],
) -> Claim:
    series = list(series)
    provenance, rests_on = _rests_on(series)
    scaled = _scaled_text(ctx, series)
    if scaled:
        why += (
            "; scaled synthesis: those scenarios sampled at another step count and their "
            "energy per step was scaled to the scenario's steps, unlike the others"
        )
    return Claim(
        key,
        topic,
        section,
        text,
        run,
        value,
        verdict,
        rule,
        why,
        basis=Basis.MEASURED,
        provenance=provenance,
        rests_on=rests_on + scaled,
    )


def _size_growth(ctx: _Context, phase: str, dims: int) -> Claim:
    ref = paper.SIZE_RANGES[(phase, dims)]
    key = f"size-{phase}-{dims}d"
    topic = f"image size, {phase} {dims}D"
    text = (
        f"{phase.capitalize()} {dims}D: CO2e goes from ({ref.low}) kg at "
        f"{size_label(ref.small)} to ({ref.high}) kg at "
        f"{size_label(ref.large)} (×{ref.ratio:.1f}, i.e. CO2e ∝ size^{ref.exponent:.2f})"
    )
    rule = f"agrees if the size exponent is within ±{EXPONENT_TOLERANCE} of the paper's"
    series = _find(ctx.analysis.image_size, f"{phase} {dims}D")
    if series is None or len(series) < 2:
        return _not_measured(key, topic, "§3.1", text, rule, f"fewer than 2 {dims}D sizes")
    lo, hi = series.values[0], series.values[-1]
    ratio = series.y[-1] / series.y[0] if series.y[0] > 0 else math.inf
    size_ratio = math.prod(hi) / math.prod(lo)
    if size_ratio <= 1:
        return _not_measured(key, topic, "§3.1", text, rule, "the sizes have the same pixel count")
    exponent = math.log(ratio) / math.log(size_ratio)
    run = (
        f"{_kg(series.y[0])} at {series.x[0]} → {_kg(series.y[-1])} at {series.x[-1]} "
        f"(×{ratio:.2g}, exponent {exponent:.2f})"
    )
    verdict = AGREES if abs(exponent - ref.exponent) <= EXPONENT_TOLERANCE else DIFFERS
    why = ctx.why(
        ctx.sizes_reason(series, dims),
        "at small sizes fixed per-step costs (data loading, kernel launches, the CPU) weigh more",
    )
    return _measured(ctx, key, topic, "§3.1", text, run, exponent, verdict, rule, why, [series])


def _dims_ratio(ctx: _Context, phase: str) -> Claim:
    p2, p3 = paper.SIZE_RANGES[(phase, 2)], paper.SIZE_RANGES[(phase, 3)]
    paper_ratio = p3.high_kg / p2.high_kg
    key = f"dims-{phase}"
    topic = f"2D vs 3D, {phase}"
    text = (
        f"{phase.capitalize()}: 3D emits about an order of magnitude more than 2D at the "
        f"largest sizes ({p3.high_kg} kg at {size_label(p3.large)} vs {p2.high_kg} kg at "
        f"{size_label(p2.large)}, ×{paper_ratio:.0f})"
    )
    rule = "agrees if 3D/2D is between ×3.2 and ×32 (an order of magnitude, ±half)"
    s2 = _find(ctx.analysis.image_size, f"{phase} 2D")
    s3 = _find(ctx.analysis.image_size, f"{phase} 3D")
    if not s2 or not s3 or not len(s2) or not len(s3):
        return _not_measured(key, topic, "§3.1", text, rule, "needs both 2D and 3D")
    ratio = s3.y[-1] / s2.y[-1] if s2.y[-1] > 0 else math.inf
    run = f"{_kg(s3.y[-1])} at {s3.x[-1]} vs {_kg(s2.y[-1])} at {s2.x[-1]} (×{ratio:.3g})"
    verdict = AGREES if 10**-0.5 * 10 <= ratio <= 10**0.5 * 10 else DIFFERS
    why = ctx.why(ctx.sizes_reason(s2, 2), ctx.sizes_reason(s3, 3))
    return _measured(ctx, key, topic, "§3.1", text, run, ratio, verdict, rule, why, [s2, s3])


def _synthesis_vs_training(ctx: _Context) -> Claim:
    key = "synthesis-vs-training"
    topic = "synthesis vs training"
    text = (
        "Synthesis (10 000 samples) emits more than training (150 000 iterations) at every "
        "image size, 2D and 3D (Fig. 1)"
    )
    rule = "agrees if synthesis > training for every scenario with both predictions"
    both = [i for i in ctx.analysis.scenarios if i.training is not None and i.synthesis is not None]
    if not both:
        return _not_measured(key, topic, "§3.1", text, rule, "no scenario with both")
    pairs = [(i.training.co2e_kg, i.synthesis.co2e_kg) for i in both]
    more = sum(1 for t, s in pairs if s > t)
    ratios = [s / t for t, s in pairs if t > 0]
    spread = f"synthesis/training ×{min(ratios):.2g}–×{max(ratios):.2g}" if ratios else ""
    run = f"synthesis > training in {more} of {len(pairs)} scenarios ({spread})"
    targets = ctx.analysis.spec.targets
    why = ctx.why(
        f"targets: this run predicts {targets.get('train_iterations')} iterations and "
        f"{targets.get('samples')} samples, the paper 150000 and 10000"
    )
    verdict = AGREES if more == len(pairs) else DIFFERS
    provs = [fp.provenance for i in both for fp in (i.training, i.synthesis)]
    return Claim(
        key,
        topic,
        "§3.1",
        text,
        run,
        more / len(pairs),
        verdict,
        rule,
        why,
        basis=Basis.MEASURED,
        provenance=Provenance.combine(provs),
        rests_on=_count_text(provs),
    )


def _model_size(ctx: _Context, phase: str) -> Claim:
    lo, hi = paper.MODEL_SIZE_INCREASE_PCT[phase]
    key = f"model-{phase}"
    topic = f"model size, {phase}"
    text = (
        f"{phase.capitalize()}: from the small to the large model CO2e rises by about "
        f"{lo:.0f} % to {hi:.0f} % (2D 256², 3D 192³; Fig. 2)"
    )
    low, high = lo - MODEL_PCT_TOLERANCE, hi + MODEL_PCT_TOLERANCE
    rule = f"agrees if every increase is within {low:.0f}–{high:.0f} %"
    found = [s for s in ctx.analysis.model_size if s.phase == phase and len(s) >= 2]
    if not found:
        return _not_measured(key, topic, "§3.2", text, rule, "fewer than 2 model sizes")
    parts, values = [], []
    for s in found:
        pct = (s.y[-1] / s.y[0] - 1) * 100 if s.y[0] > 0 else math.inf
        values.append(pct)
        parts.append(f"{s.dims}D {s.x[0]}→{s.x[-1]} {_pct(pct)} ({s.fixed})")
    ok = all(low <= v <= high for v in values)
    why = ctx.why(
        "model presets: lpm's small/medium/large are its own (channels, blocks, attention), "
        "the paper does not publish its exact architectures"
    )
    verdict = AGREES if ok else DIFFERS
    return _measured(
        ctx, key, topic, "§3.2", text, "; ".join(parts), max(values), verdict, rule, why, found
    )


def _pick(series: Iterable[Series], phase: str) -> Series | None:
    found = [s for s in series if s.phase == phase and len(s) >= 2]
    return next((s for s in found if s.dims == 3), found[0] if found else None)


def _processes(ctx: _Context) -> Claim:
    key = "processes"
    topic = "1 vs N GPUs"
    text = (
        "Training the 3D LDM on 4 GPUs instead of 1 (same batch size per GPU) brings no "
        "significant reduction in emissions (Fig. 4a)"
    )
    rule = f"agrees if N processes change CO2e by more than {PROCESSES_SIGNIFICANT_PCT:.0f} %"
    s = _pick(ctx.analysis.processes, "training")
    if s is None:
        return _not_measured(key, topic, "§3.4", text, rule, "a single process count")
    pct = (s.y[-1] / s.y[0] - 1) * 100 if s.y[0] > 0 else math.inf
    run = f"{s.dims}D {s.x[0]} → {s.x[-1]} processes: {_kg(s.y[0])} → {_kg(s.y[-1])} ({_pct(pct)})"
    why = ctx.why(
        "processes: on a CPU machine the processes share the same cores and package power, "
        "while the paper added whole GPUs"
    )
    verdict = AGREES if pct > PROCESSES_SIGNIFICANT_PCT else DIFFERS
    return _measured(ctx, key, topic, "§3.4", text, run, pct, verdict, rule, why, [s])


def share_text(share: float | None) -> str:
    """A share (0–1) as a percentage that never rounds a small non-zero share to 0 %."""
    if share is None:
        return "–"
    if 0 < abs(share) < 0.001:
        return "<0.1 %"
    return f"{100 * share:.1f} %" if abs(share) < 0.1 else f"{100 * share:.0f} %"


def _share(m: SynthesisMeasurement) -> str:
    return share_text(m.fixed_share)


def _steps_why(lo: int, hi: int, m_lo: SynthesisMeasurement, m_hi: SynthesisMeasurement) -> str:
    """Why the measured change is not proportional: the fixed part, or the per-step energy."""
    parts = [
        "steps: a sample also costs its noise draw, decoding and writing, which do not "
        "shrink with fewer steps"
    ]
    step_lo, step_hi = m_lo.energy_per_step_j_mean, m_hi.energy_per_step_j_mean
    if step_lo and step_hi:
        diff = (step_lo / step_hi - 1) * 100
        parts.append(
            f"the energy per denoising step was {_j(step_lo)} in the {lo}-step run and "
            f"{_j(step_hi)} in the {hi}-step run ({diff:+.0f} %)"
            + (
                ", so most of the difference comes from the per-step energy of the two runs "
                "(noise of a short measurement on a shared machine, or caches and clocks)"
                if abs(diff) > 5 and (m_lo.fixed_share or 0) < 0.05
                else ""
            )
        )
    return "; ".join(parts)


def _steps(ctx: _Context) -> Claim:
    lo_p, hi_p = paper.STEPS_PAIR
    key = "steps"
    topic = "inference steps"
    text = (
        f"{lo_p} instead of {hi_p} inference steps reduce synthesis emissions by "
        f"{-paper.STEPS_CHANGE_PCT:.0f} % (Fig. 4b)"
    )
    rule = (
        f"agrees if the measured change per sample is within ±{STEPS_PCT_TOLERANCE:.0f} "
        f"points of the paper's {paper.STEPS_CHANGE_PCT:.0f} % (for other step counts: of "
        "the change proportional to the steps)"
    )
    s = _pick(ctx.analysis.steps, "synthesis")
    if s is None:
        return _not_measured(key, topic, "§3.4", text, rule, "a single step count")
    lo, hi = s.values[0], s.values[-1]
    expected = paper.STEPS_CHANGE_PCT if (lo, hi) == paper.STEPS_PAIR else (lo / hi - 1) * 100
    pair = "" if (lo, hi) == paper.STEPS_PAIR else f"; this run compares {lo} vs {hi} steps"
    sc_lo, sc_hi = ctx.scenario(s.scenario_ids[0]), ctx.scenario(s.scenario_ids[-1])
    m_lo = sc_lo.sample_measurement if sc_lo else None
    m_hi = sc_hi.sample_measurement if sc_hi else None
    if m_lo is None or m_hi is None or not (m_lo.direct and m_hi.direct):
        pct = (s.y[0] / s.y[-1] - 1) * 100 if s.y[-1] > 0 else math.inf
        scaled = [m.steps for m in (m_lo, m_hi) if m is not None and not m.direct]
        where = f"at {scaled[0]} steps" if scaled else "at one step count"
        run = (
            f"{s.dims}D {lo} vs {hi} steps: {_kg(s.y[0])} vs {_kg(s.y[-1])} ({_pct(pct)}); "
            f"synthesis was measured {where} and scaled to each step count, so the change "
            "follows from the scaling, not from a measurement"
        )
        provenance, rests_on = _rests_on([s])
        return Claim(
            key,
            topic,
            "§3.4",
            text,
            run,
            pct,
            BY_CONSTRUCTION,
            "no verdict: the energies of the two step counts were not both measured",
            "measure every step count (the default; no measure.sample_steps) to test it" + pair,
            basis=Basis.MODEL,
            provenance=provenance,
            rests_on=rests_on,
        )
    a, sa = m_lo.energy_per_sample_j_mean, m_lo.energy_per_sample_j_std
    b, sb = m_hi.energy_per_sample_j_mean, m_hi.energy_per_sample_j_std
    if not (a > 0 and b > 0):
        return _not_measured(key, topic, "§3.4", text, rule, "a sample measured as 0 J")
    ratio = a / b
    pct = (ratio - 1) * 100
    pct_std = 100 * ratio * math.hypot(sa / a, sb / b)
    proportional = (lo / hi - 1) * 100
    run = (
        f"{s.dims}D, measured per sample: {_j(a)} ± {_j(sa)} at {lo} steps vs {_j(b)} ± "
        f"{_j(sb)} at {hi} steps: {pct:+.1f} ± {pct_std:.1f} % (proportional to the steps: "
        f"{_pct(proportional)}); fixed per-sample cost {_j(m_lo.fixed_per_sample_j_mean)} "
        f"({_share(m_lo)} of a {lo}-step sample) and {_j(m_hi.fixed_per_sample_j_mean)} "
        f"({_share(m_hi)} of a {hi}-step one)"
    )
    why = ctx.why(_steps_why(lo, hi, m_lo, m_hi) + pair)
    verdict = AGREES if abs(pct - expected) <= STEPS_PCT_TOLERANCE else DIFFERS
    provs = [m_lo.provenance, m_hi.provenance]
    return Claim(
        key,
        topic,
        "§3.4",
        text,
        run,
        pct,
        verdict,
        rule,
        why,
        basis=Basis.MEASURED,
        provenance=Provenance.combine(provs),
        rests_on=f"2 measured sampling runs ({sc_lo.scenario_id}, {sc_hi.scenario_id}): "
        f"{provenance_text(provs)}",
    )


def _intensity_why(ctx: _Context, series: Series) -> str:
    used = {
        (i.source, i.basis)
        for i in ctx.analysis.intensities
        if ((series.axis == "month") == ("-" in i.period)) and i.basis == series.basis
    }
    sources = ", ".join(f"{s} ({b})" for s, b in sorted(used))
    return (
        "the ratio is the ratio of two carbon intensities: the scenario's energy cancels, so "
        f"hardware and model do not enter; this run uses {sources}"
    )


def _tables(
    key: str, topic: str, section: str, text: str, run: str, value: float, why: str
) -> Claim:
    return Claim(
        key,
        topic,
        section,
        text,
        run,
        value,
        FROM_TABLES,
        "no verdict: the paper's ratio and this one come from intensity tables, not from a "
        "measurement",
        why,
        basis=Basis.TABLES,
        provenance=None,
        rests_on="lpm's packaged carbon-intensity tables",
    )


def _extremes(series: Series) -> tuple[int, int]:
    """The indices of the lowest and the highest value of a series."""
    indices = range(len(series))
    return min(indices, key=lambda i: series.y[i]), max(indices, key=lambda i: series.y[i])


def _placed_series(series: Any) -> Any:
    """The synthesis series of a region/month comparison, else the training one, else None."""
    return _pick(series, "synthesis") or _pick(series, "training")


def _too_few_places(key: str, topic: str, text: str, what: str) -> Claim:
    """A tables claim with fewer than two regions or months to place the energy in."""
    claim = _not_measured(key, topic, "§3.3", text, "", f"fewer than 2 {what}")
    return replace(claim, basis=Basis.TABLES)


def _regions(ctx: _Context) -> Claim:
    key = "regions"
    topic = "region"
    lo_name, lo_kg = paper.REGION_LOW
    hi_name, hi_kg = paper.REGION_HIGH
    table = ", ".join(f"{k} {v}" for k, v in paper.TABLE1_G_PER_KWH.items())
    text = (
        f"The region changes emissions up to {paper.REGION_RATIO:.0f}× ({lo_name} {lo_kg} kg vs "
        f"{hi_name} {hi_kg} kg; Table 1, g CO2/kWh: {table}; Fig. 3a)"
    )
    series = _placed_series(ctx.analysis.regions)
    if series is None:
        return _too_few_places(key, topic, text, "regions")
    i_min, i_max = _extremes(series)
    ratio = series.y[i_max] / series.y[i_min] if series.y[i_min] > 0 else math.inf
    run = (
        f"max/min intensity ×{ratio:.3g} ({series.x[i_max]} {series.values[i_max]:g} vs "
        f"{series.x[i_min]} {series.values[i_min]:g} g/kWh, {series.basis}): "
        f"{_kg(series.y[i_min])} vs {_kg(series.y[i_max])} for this run's {series.phase}"
    )
    why = _intensity_why(ctx, series) + f"; regions compared: {', '.join(series.x)}"
    return _tables(key, topic, "§3.3", text, run, ratio, why)


def _months(ctx: _Context) -> Claim:
    key = "months"
    topic = "month"
    a, b = paper.MONTH_PAIR
    text = (
        f"The month changes emissions by up to {paper.MONTH_VARIATION_PCT:.0f} % (Germany 2022, "
        f"{a} vs {b}; Fig. 3b)"
    )
    series = _placed_series(ctx.analysis.months)
    if series is None:
        return _too_few_places(key, topic, text, "months")
    i_min, i_max = _extremes(series)
    pct = (series.y[i_max] / series.y[i_min] - 1) * 100 if series.y[i_min] > 0 else math.inf
    spec = ctx.analysis.spec
    run = (
        f"{spec.months_region} {series.x[i_max]} vs {series.x[i_min]}: {_pct(pct)} "
        f"({series.values[i_max]:g} vs {series.values[i_min]:g} g/kWh, {series.basis})"
    )
    why = _intensity_why(ctx, series) + (
        "; the paper's text says its German monthly values are for 2023, its Fig. 3b caption "
        "says 2022"
    )
    return _tables(key, topic, "§3.3", text, run, pct, why)


def _absolute(ctx: _Context, phase: str, dims: int) -> Claim:
    from lpm.carbon import equivalents

    ref = paper.SIZE_RANGES[(phase, dims)]
    key = f"absolute-{phase}-{dims}d"
    topic = f"absolute CO2e, {phase} {dims}D"
    eq = equivalents(ref.high_kg)
    extra = ""
    if (phase, dims) == ("synthesis", 3):
        extra = f", {paper.BUDGET_SHARE_3D_SYNTHESIS:.1%} of the annual per-capita budget"
    text = (
        f"{phase.capitalize()} {dims}D at {size_label(ref.large)}: ({ref.high}) kg CO2e "
        f"≈ {eq.car_km:,.0f} km by car{extra}"
    )
    rule = f"agrees if at the paper's size and within ×{ABSOLUTE_FACTOR:g} of its value"
    series = _find(ctx.analysis.image_size, f"{phase} {dims}D")
    if series is None or not len(series):
        return _not_measured(key, topic, "§3.1", text, rule, f"no {dims}D {phase}")
    kg, std = series.y[-1], series.yerr[-1]
    ours = equivalents(kg)
    scenario = ctx.scenario(series.scenario_ids[-1])
    fraction = _measured_fraction(scenario, phase)
    run = (
        f"({_kg(kg)} ± {_kg(std)}) at {series.x[-1]} ≈ {ours.car_km:,.3g} km by car, "
        f"{100 * ours.annual_budget_share:.2g} % of the annual per-capita budget; expected "
        f"error of the prediction: {backtest_text(ctx.analysis.backtest, phase, fraction)}"
    )
    same_size = tuple(series.values[-1]) == tuple(ref.large)
    within = 1 / ABSOLUTE_FACTOR <= kg / ref.high_kg <= ABSOLUTE_FACTOR
    verdict = AGREES if same_size and within else DIFFERS
    why = ctx.why(ctx.sizes_reason(series, dims))
    point = Series(
        series.name,
        phase,
        dims,
        series.axis,
        series.x[-1:],
        series.y[-1:],
        series.yerr[-1:],
        scenario_ids=series.scenario_ids[-1:],
        provenances=series.provenances[-1:],
    )
    return _measured(ctx, key, topic, "§3.1", text, run, kg, verdict, rule, why, [point])


def _measured_fraction(scenario: Scenario | None, phase: str) -> float | None:
    """The share of the target that was measured (iterations or samples)."""
    if scenario is None:
        return None
    unit = "train_iterations" if phase == "training" else "samples"
    measured, target = scenario.measured.get(unit), scenario.targets.get(unit)
    if not measured or not target:
        return None
    return float(measured) / float(target)


def _prediction(ctx: _Context) -> Claim:
    """How good the prediction from a short measurement is (the backtest; a model claim)."""
    key = "prediction"
    topic = "prediction from a short run"
    text = (
        f"The full runs are predicted from a short measurement ({paper.PAPER_MEASURED}) as "
        "mean ± std per step; the paper does not check the prediction"
    )
    backtest = ctx.analysis.backtest
    parts = []
    for phase in ("training", "synthesis"):
        fractions = [
            f
            for f in (_measured_fraction(i.scenario, phase) for i in ctx.analysis.scenarios)
            if f is not None
        ]
        fraction = min(fractions) if fractions else None
        share = f" (from {_share_pct(fraction)} of its target at least)" if fraction else ""
        parts.append(f"{phase}{share}: {backtest_text(backtest, phase, fraction, where=True)}")
    run = "this run predicts each target the same way; " + "; ".join(parts)
    if backtest is None:
        verdict, provenance, rests_on = NO_BACKTEST, None, "the prediction rule only"
    else:
        verdict = BACKTESTED
        provs = [r.provenance for r in backtest.runs.values()]
        provenance = Provenance.combine(provs) if provs else None
        rests_on = (
            f"the prediction rule, checked by long runs on {backtest.machine} "
            f"({provenance_text(provs)})"
        )
    return Claim(
        key,
        topic,
        "§2",
        text,
        run,
        None,
        verdict,
        "no verdict: a model of the long run, checked by lpm's backtest (not by this run)",
        "the backtest ran other sizes on another machine; its error is a guide, not a bound",
        basis=Basis.MODEL,
        provenance=provenance,
        rests_on=rests_on,
    )


def run_differences(analysis: Analysis) -> tuple[str, ...]:
    """The differences between this run and the paper that affect every measured claim."""
    return _Context(analysis).run_differences()


def compute_claims(analysis: Analysis) -> tuple[Claim, ...]:
    """Every claim of the paper that a study can test, in the paper's order."""
    ctx = _Context(analysis)
    claims = [
        _size_growth(ctx, phase, dims) for phase in ("training", "synthesis") for dims in (2, 3)
    ]
    claims += [_dims_ratio(ctx, "training"), _dims_ratio(ctx, "synthesis")]
    claims.append(_synthesis_vs_training(ctx))
    claims += [_model_size(ctx, "training"), _model_size(ctx, "synthesis")]
    claims += [_regions(ctx), _months(ctx), _processes(ctx), _steps(ctx)]
    claims += tradeoff_claims(analysis)  # the steps claim on the sweep, quality beside it
    claims += [
        _absolute(ctx, phase, dims) for phase in ("training", "synthesis") for dims in (2, 3)
    ]
    claims.append(_prediction(ctx))
    return tuple(claims)


def by_basis(claims: Iterable[Claim]) -> dict[Basis, tuple[Claim, ...]]:
    """The claims grouped by basis, in BASIS_ORDER (empty groups left out)."""
    items = list(claims)
    groups = {b: tuple(c for c in items if c.basis is b) for b in BASIS_ORDER}
    return {b: g for b, g in groups.items() if g}
