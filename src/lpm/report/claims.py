"""The paper's claims next to this run's numbers: agrees, differs, or not measured.

Every claim states the paper's number (``lpm.report.paper``), this run's number computed
from the same comparison, a verdict with an explicit tolerance, and the reasons the two
can differ (hardware, image sizes, model presets, estimated vs measured power, the short
measurement the prediction rests on, the intensity data).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lpm.report import paper
from lpm.report.scenarios import size_label

if TYPE_CHECKING:
    from lpm.report.analysis import Analysis, Series

AGREES = "agrees"
DIFFERS = "differs"
NOT_MEASURED = "not measured"

#: Tolerances of the verdicts (stated in the report next to each claim).
EXPONENT_TOLERANCE = 0.25
MODEL_PCT_TOLERANCE = 10.0
PROCESSES_SIGNIFICANT_PCT = -10.0
STEPS_PCT_TOLERANCE = 10.0
REGION_RATIO_TOLERANCE = 0.15
MONTH_PCT_TOLERANCE = 10.0
ABSOLUTE_FACTOR = 2.0


@dataclass(frozen=True)
class Claim:
    """One of the paper's claims and what this run found."""

    key: str
    topic: str
    section: str
    paper: str
    run: str
    value: float | None
    verdict: str
    rule: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "topic": self.topic,
            "section": self.section,
            "paper": self.paper,
            "run": self.run,
            "value": self.value,
            "verdict": self.verdict,
            "rule": self.rule,
            "why": self.why,
        }


def _kg(value: float) -> str:
    if value == 0:
        return "0 kg"
    if abs(value) >= 1:
        return f"{value:,.3g} kg"
    if abs(value) >= 1e-3:
        return f"{value * 1e3:,.3g} g"
    return f"{value * 1e6:,.3g} mg"


def _pct(value: float) -> str:
    return f"{value:+.0f} %"


def _find(series: Iterable[Series], name: str) -> Series | None:
    return next((s for s in series if s.name == name), None)


def hardware_text(hardware: dict[str, Any]) -> str:
    """A short description of a hardware context: its CPU and GPU entries."""
    flat: dict[str, Any] = {}
    for key, value in hardware.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                flat[f"{key}.{sub}"] = inner
        else:
            flat[key] = value
    picked = []
    for word in ("gpu", "cpu"):
        for key, value in flat.items():
            if (
                word in key.lower()
                and isinstance(value, str | int | list)
                and value not in ("", [])
            ):
                text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                picked.append(f"{key}: {text}")
    if any("gpu" in k.lower() and v in ([], "", None, 0) for k, v in flat.items()) and not any(
        p.lower().startswith("gpu") for p in picked
    ):
        picked.append("no GPU")
    if not picked:
        picked = [f"{k}: {v}" for k, v in list(flat.items())[:3]]
    return "; ".join(picked) if picked else "unknown hardware"


class _Context:
    """The facts about this run that explain differences from the paper."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        scen = [i.scenario for i in analysis.scenarios]
        hw = analysis.hardware()
        self.hardware = hardware_text(hw[0]) if hw else "unknown hardware"
        self.n = len(scen)
        self.estimated = sum(1 for s in scen if s.estimated)
        measured = [s.measured for s in scen if s.measured]
        self.train_measured = sorted(
            {int(m["train_iterations"]) for m in measured if "train_iterations" in m}
        )
        self.sample_measured = sorted(
            {int(m["sample_steps"]) for m in measured if "sample_steps" in m}
        )

    def hardware_reason(self) -> str:
        return f"hardware: this run {self.hardware}; the paper {paper.PAPER_HARDWARE}"

    def power_reason(self) -> str:
        if self.estimated:
            return (
                f"power: {self.estimated} of {self.n} scenarios were estimated (no energy "
                "counter), the paper measured GPU and CPU with Carbontracker"
            )
        return "power: measured by energy counters, as in the paper"

    def budget_reason(self) -> str:
        train = "/".join(map(str, self.train_measured)) or "?"
        sample = "/".join(map(str, self.sample_measured)) or "?"
        return (
            f"prediction: from {train} measured training iterations and {sample} measured "
            f"denoising steps; the paper measured {paper.PAPER_MEASURED}"
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


def _size_growth(ctx: _Context, phase: str, dims: int) -> Claim:
    ref = paper.SIZE_RANGES[(phase, dims)]
    key = f"size-{phase}-{dims}d"
    text = (
        f"{phase.capitalize()} {dims}D: CO2e goes from ({ref.low}) kg at "
        f"{size_label(ref.small)} to ({ref.high}) kg at "
        f"{size_label(ref.large)} (×{ref.ratio:.1f}, i.e. CO2e ∝ size^{ref.exponent:.2f})"
    )
    rule = f"agrees if the size exponent is within ±{EXPONENT_TOLERANCE} of the paper's"
    series = _find(ctx.analysis.image_size, f"{phase} {dims}D")
    if series is None or len(series) < 2:
        return _not_measured(
            key, f"image size, {phase} {dims}D", "§3.1", text, rule, f"fewer than 2 {dims}D sizes"
        )
    lo, hi = series.values[0], series.values[-1]
    ratio = series.y[-1] / series.y[0] if series.y[0] > 0 else math.inf
    size_ratio = math.prod(hi) / math.prod(lo)
    if size_ratio <= 1:
        return _not_measured(
            key,
            f"image size, {phase} {dims}D",
            "§3.1",
            text,
            rule,
            "the sizes have the same pixel count",
        )
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
    return Claim(
        key, f"image size, {phase} {dims}D", "§3.1", text, run, exponent, verdict, rule, why
    )


def _dims_ratio(ctx: _Context, phase: str) -> Claim:
    p2, p3 = paper.SIZE_RANGES[(phase, 2)], paper.SIZE_RANGES[(phase, 3)]
    paper_ratio = p3.high_kg / p2.high_kg
    key = f"dims-{phase}"
    text = (
        f"{phase.capitalize()}: 3D emits about an order of magnitude more than 2D at the "
        f"largest sizes ({p3.high_kg} kg at {size_label(p3.large)} vs {p2.high_kg} kg at "
        f"{size_label(p2.large)}, ×{paper_ratio:.0f})"
    )
    rule = "agrees if 3D/2D is between ×3.2 and ×32 (an order of magnitude, ±half)"
    s2 = _find(ctx.analysis.image_size, f"{phase} 2D")
    s3 = _find(ctx.analysis.image_size, f"{phase} 3D")
    if not s2 or not s3 or not len(s2) or not len(s3):
        return _not_measured(key, f"2D vs 3D, {phase}", "§3.1", text, rule, "needs both 2D and 3D")
    ratio = s3.y[-1] / s2.y[-1] if s2.y[-1] > 0 else math.inf
    run = f"{_kg(s3.y[-1])} at {s3.x[-1]} vs {_kg(s2.y[-1])} at {s2.x[-1]} (×{ratio:.3g})"
    verdict = AGREES if 10**-0.5 * 10 <= ratio <= 10**0.5 * 10 else DIFFERS
    why = ctx.why(ctx.sizes_reason(s2, 2), ctx.sizes_reason(s3, 3))
    return Claim(key, f"2D vs 3D, {phase}", "§3.1", text, run, ratio, verdict, rule, why)


def _synthesis_vs_training(ctx: _Context) -> Claim:
    key = "synthesis-vs-training"
    text = (
        "Synthesis (10 000 samples) emits more than training (150 000 iterations) at every "
        "image size, 2D and 3D (Fig. 1)"
    )
    rule = "agrees if synthesis > training for every scenario with both predictions"
    pairs = [
        (i.training.co2e_kg, i.synthesis.co2e_kg)
        for i in ctx.analysis.scenarios
        if i.training is not None and i.synthesis is not None
    ]
    if not pairs:
        return _not_measured(
            key, "synthesis vs training", "§3.1", text, rule, "no scenario with both"
        )
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
    return Claim(
        key, "synthesis vs training", "§3.1", text, run, more / len(pairs), verdict, rule, why
    )


def _model_size(ctx: _Context, phase: str) -> Claim:
    lo, hi = paper.MODEL_SIZE_INCREASE_PCT[phase]
    key = f"model-{phase}"
    text = (
        f"{phase.capitalize()}: from the small to the large model CO2e rises by about "
        f"{lo:.0f} % to {hi:.0f} % (2D 256², 3D 192³; Fig. 2)"
    )
    low, high = lo - MODEL_PCT_TOLERANCE, hi + MODEL_PCT_TOLERANCE
    rule = f"agrees if every increase is within {low:.0f}–{high:.0f} %"
    found = [s for s in ctx.analysis.model_size if s.phase == phase and len(s) >= 2]
    if not found:
        return _not_measured(
            key, f"model size, {phase}", "§3.2", text, rule, "fewer than 2 model sizes"
        )
    parts, values = [], []
    for s in found:
        pct = (s.y[-1] / s.y[0] - 1) * 100 if s.y[0] > 0 else math.inf
        values.append(pct)
        parts.append(f"{s.dims}D {s.x[0]}→{s.x[-1]} {_pct(pct)} ({s.fixed})")
    ok = all(lo - MODEL_PCT_TOLERANCE <= v <= hi + MODEL_PCT_TOLERANCE for v in values)
    why = ctx.why(
        "model presets: lpm's small/medium/large are its own (channels, blocks, attention), "
        "the paper does not publish its exact architectures"
    )
    return Claim(
        key,
        f"model size, {phase}",
        "§3.2",
        text,
        "; ".join(parts),
        max(values),
        AGREES if ok else DIFFERS,
        rule,
        why,
    )


def _pick(series: Iterable[Series], phase: str) -> Series | None:
    found = [s for s in series if s.phase == phase and len(s) >= 2]
    return next((s for s in found if s.dims == 3), found[0] if found else None)


def _processes(ctx: _Context) -> Claim:
    key = "processes"
    text = (
        "Training the 3D LDM on 4 GPUs instead of 1 (same batch size per GPU) brings no "
        "significant reduction in emissions (Fig. 4a)"
    )
    rule = f"agrees if N processes change CO2e by more than {PROCESSES_SIGNIFICANT_PCT:.0f} %"
    s = _pick(ctx.analysis.processes, "training")
    if s is None:
        return _not_measured(key, "1 vs N GPUs", "§3.4", text, rule, "a single process count")
    pct = (s.y[-1] / s.y[0] - 1) * 100 if s.y[0] > 0 else math.inf
    run = f"{s.dims}D {s.x[0]} → {s.x[-1]} processes: {_kg(s.y[0])} → {_kg(s.y[-1])} ({_pct(pct)})"
    why = ctx.why(
        "processes: on a CPU machine the processes share the same cores and package power, "
        "while the paper added whole GPUs"
    )
    verdict = AGREES if pct > PROCESSES_SIGNIFICANT_PCT else DIFFERS
    return Claim(key, "1 vs N GPUs", "§3.4", text, run, pct, verdict, rule, why)


def _steps(ctx: _Context) -> Claim:
    lo_p, hi_p = paper.STEPS_PAIR
    key = "steps"
    text = (
        f"{lo_p} instead of {hi_p} inference steps reduce synthesis emissions by "
        f"{-paper.STEPS_CHANGE_PCT:.0f} % (Fig. 4b)"
    )
    rule = (
        f"agrees if the change is within ±{STEPS_PCT_TOLERANCE:.0f} points of proportional to "
        "the steps (−80 % for 200 vs 1000)"
    )
    s = _pick(ctx.analysis.steps, "synthesis")
    if s is None:
        return _not_measured(key, "inference steps", "§3.4", text, rule, "a single step count")
    lo, hi = s.values[0], s.values[-1]
    pct = (s.y[0] / s.y[-1] - 1) * 100 if s.y[-1] > 0 else math.inf
    expected = (lo / hi - 1) * 100
    run = (
        f"{s.dims}D {lo} vs {hi} steps: {_kg(s.y[0])} vs {_kg(s.y[-1])} ({_pct(pct)}; "
        f"proportional would be {_pct(expected)})"
    )
    why = ctx.why(
        "steps: the synthesis energy is predicted from the energy per denoising step, so it "
        "scales with the steps unless the per-step cost differs between step counts"
        + ("" if (lo, hi) == paper.STEPS_PAIR else f"; this run compares {lo} vs {hi} steps")
    )
    verdict = AGREES if abs(pct - expected) <= STEPS_PCT_TOLERANCE else DIFFERS
    return Claim(key, "inference steps", "§3.4", text, run, pct, verdict, rule, why)


def _intensity_why(ctx: _Context, axis: str) -> str:
    used = {
        (i.source, i.basis)
        for i in ctx.analysis.intensities
        if (axis == "month") == ("-" in i.period)
    }
    sources = ", ".join(f"{s} ({b})" for s, b in sorted(used))
    return (
        "the ratio depends only on the carbon intensities, not on the hardware or the model: "
        f"this run uses {sources}"
    )


def _regions(ctx: _Context) -> Claim:
    key = "regions"
    lo_name, lo_kg = paper.REGION_LOW
    hi_name, hi_kg = paper.REGION_HIGH
    table = ", ".join(f"{k} {v}" for k, v in paper.TABLE1_G_PER_KWH.items())
    text = (
        f"The region changes emissions up to {paper.REGION_RATIO:.0f}× ({lo_name} {lo_kg} kg vs "
        f"{hi_name} {hi_kg} kg; Table 1, g CO2/kWh: {table}; Fig. 3a)"
    )
    rule = f"agrees if max/min is within ±{REGION_RATIO_TOLERANCE:.0%} of 94"
    series = _pick(ctx.analysis.regions, "synthesis") or _pick(ctx.analysis.regions, "training")
    if series is None:
        return _not_measured(key, "region", "§3.3", text, rule, "fewer than 2 regions")
    i_max = max(range(len(series)), key=lambda i: series.y[i])
    i_min = min(range(len(series)), key=lambda i: series.y[i])
    ratio = series.y[i_max] / series.y[i_min] if series.y[i_min] > 0 else math.inf
    run = (
        f"{series.x[i_min]} {_kg(series.y[i_min])} vs {series.x[i_max]} {_kg(series.y[i_max])} "
        f"({series.phase}, ×{ratio:.3g})"
    )
    verdict = AGREES if abs(ratio / paper.REGION_RATIO - 1) <= REGION_RATIO_TOLERANCE else DIFFERS
    why = _intensity_why(ctx, "region") + f"; regions compared: {', '.join(series.x)}"
    return Claim(key, "region", "§3.3", text, run, ratio, verdict, rule, why)


def _months(ctx: _Context) -> Claim:
    key = "months"
    a, b = paper.MONTH_PAIR
    text = (
        f"The month changes emissions by up to {paper.MONTH_VARIATION_PCT:.0f} % (Germany 2022, "
        f"{a} vs {b}; Fig. 3b)"
    )
    rule = f"agrees if max/min − 1 is within ±{MONTH_PCT_TOLERANCE:.0f} points of 50 %"
    series = _pick(ctx.analysis.months, "synthesis") or _pick(ctx.analysis.months, "training")
    if series is None:
        return _not_measured(key, "month", "§3.3", text, rule, "fewer than 2 months")
    i_max = max(range(len(series)), key=lambda i: series.y[i])
    i_min = min(range(len(series)), key=lambda i: series.y[i])
    pct = (series.y[i_max] / series.y[i_min] - 1) * 100 if series.y[i_min] > 0 else math.inf
    spec = ctx.analysis.spec
    run = (
        f"{spec.months_region} {series.x[i_max]} vs {series.x[i_min]}: {_pct(pct)} ({series.phase})"
    )
    verdict = AGREES if abs(pct - paper.MONTH_VARIATION_PCT) <= MONTH_PCT_TOLERANCE else DIFFERS
    why = _intensity_why(ctx, "month") + (
        "; the paper's text says its German monthly values are for 2023, its Fig. 3b caption "
        "says 2022"
    )
    return Claim(key, "month", "§3.3", text, run, pct, verdict, rule, why)


def _absolute(ctx: _Context, phase: str, dims: int) -> Claim:
    from lpm.carbon import equivalents

    ref = paper.SIZE_RANGES[(phase, dims)]
    key = f"absolute-{phase}-{dims}d"
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
        return _not_measured(
            key, f"absolute CO2e, {phase} {dims}D", "§3.1", text, rule, f"no {dims}D {phase}"
        )
    kg, std = series.y[-1], series.yerr[-1]
    ours = equivalents(kg)
    run = (
        f"({_kg(kg)} ± {_kg(std)}) at {series.x[-1]} ≈ {ours.car_km:,.3g} km by car, "
        f"{100 * ours.annual_budget_share:.2g} % of the annual per-capita budget"
    )
    same_size = tuple(series.values[-1]) == tuple(ref.large)
    within = 1 / ABSOLUTE_FACTOR <= kg / ref.high_kg <= ABSOLUTE_FACTOR
    verdict = AGREES if same_size and within else DIFFERS
    why = ctx.why(ctx.sizes_reason(series, dims))
    return Claim(key, f"absolute CO2e, {phase} {dims}D", "§3.1", text, run, kg, verdict, rule, why)


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
    claims += [
        _absolute(ctx, phase, dims) for phase in ("training", "synthesis") for dims in (2, 3)
    ]
    return tuple(claims)
