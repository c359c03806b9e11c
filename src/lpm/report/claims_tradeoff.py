"""The paper's 200-step claim checked on the study's energy–quality sweep, quality beside it.

§3.4 of the paper: 200 instead of 1000 inference steps cut synthesis emissions by 80 %,
"albeit potentially compromising image quality". The sweep measures both halves on one
run, sampler and batch (DDPM when swept, else the reference's sampler):

- ``steps-sweep-energy``: the measured saving of synthesis CO2e; agrees when it is within
  ±:data:`SAVING_MARGIN_PCT` points of the paper's 80 %;
- ``steps-sweep-quality``: whether the judged quality metrics at 200 steps stay within the
  sweep's tolerance of the 1000-step values; agrees (the paper's caution holds) when one
  does not, differs when every one is kept.

A study without a sweep has neither claim.
"""

from __future__ import annotations

from lpm.provenance import Provenance
from lpm.report import paper
from lpm.report.analysis import Analysis
from lpm.report.claim import AGREES, DIFFERS, NOT_MEASURED, Basis, Claim, provenance_text
from lpm.report.html import num
from lpm.report.tradeoff import MetricChange, TradeoffAnalysis
from lpm.report.tradeoff_steps import HIGH_STEPS, LOW_STEPS, StepsCheck, steps_check

#: Margin of the saving's verdict, in percentage points around the paper's 80 %.
SAVING_MARGIN_PCT = 10.0
SECTION = "§3.4"
ENERGY_KEY, QUALITY_KEY = "steps-sweep-energy", "steps-sweep-quality"


def _ci(m: MetricChange, which: str) -> str:
    rec = m.base if which == "base" else m.other
    if rec is None:
        return "–"
    unit = f" {rec.unit}" if rec.unit else ""
    return f"{num(rec.value)}{unit} [{num(rec.ci_low)}–{num(rec.ci_high)}]"


def metric_change_text(m: MetricChange) -> str:
    """'hu_wasserstein 20 HU [18–22] → 20.4 HU [18.4–22.4] (+2.0 %, kept)'."""
    if m.excess is None:
        return f"{m.name}: not on both points"
    change = "" if m.change is None else f"{m.change_text}, "
    state = "kept" if m.within else f"lost: beyond {100 * m.tolerance:g} %"
    noise = "; the 95 % CIs overlap" if m.ci_overlap else ""
    return f"{m.name} {_ci(m, 'base')} → {_ci(m, 'other')} ({change}{state}{noise})"


def _rests_on(check: StepsCheck) -> tuple[Provenance, str]:
    provs = [check.low.provenance, check.high.provenance]
    samples = check.low.quality_samples
    return Provenance.combine(provs), (
        f"2 sweep points ({check.low.point_id}, {check.high.point_id}): energy "
        f"{provenance_text(provs)}, quality of {samples} samples each"
    )


def _why(tr: TradeoffAnalysis, analysis: Analysis, check: StepsCheck, extra: str) -> str:
    return f"{extra}; model: {tr.model_text}; the pair: {check.choice}"


def _energy_why(check: StepsCheck, pct: float) -> str:
    """Why the saving is not the steps' 80 %: the fixed part, or two samplers' steps."""
    proportional = 100 * (1 - LOW_STEPS / HIGH_STEPS)
    low, high = check.low, check.high
    if check.same_sampler:
        why = (
            f"both points compose one measured run of {low.sampler} at batch {low.batch_size} "
            "(fixed part + steps × energy per step), so the saving is the steps' "
            f"{proportional:.0f} % less the share of the fixed part (noise, decoding, "
            "writing), which does not shrink with the steps"
        )
    else:
        a, b = low.step_per_sample_j_mean, high.step_per_sample_j_mean
        steps = f" ({num(a)} vs {num(b)} J per step and sample)" if a and b else ""
        why = (
            f"two samplers, each from its own measured run: a {low.sampler} step and a "
            f"{high.sampler} step differ in energy{steps} (their own work per step, and the "
            "noise of short measurements), and the fixed part does not shrink with the steps"
        )
    return why + "; the paper measured on an A100 GPU"


def _energy(
    tr: TradeoffAnalysis, analysis: Analysis, check: StepsCheck | None, missing: str
) -> Claim:
    expected = -paper.STEPS_CHANGE_PCT
    text = (
        f"{LOW_STEPS} instead of {HIGH_STEPS} inference steps reduce synthesis emissions by "
        f"{expected:.0f} % (§3.4; checked on the energy–quality sweep)"
    )
    rule = (
        f"agrees if the measured saving of synthesis CO2e is within ±{SAVING_MARGIN_PCT:.0f} "
        f"points of the paper's {expected:.0f} %"
    )
    topic = f"{LOW_STEPS} vs {HIGH_STEPS} steps, energy (sweep)"
    if check is None:
        return Claim(ENERGY_KEY, topic, SECTION, text, f"not measured: {missing}",
                     None, NOT_MEASURED, rule, "")  # fmt: skip
    pct, pct_std = 100 * check.saving, 100 * check.saving_std
    low, high = check.low, check.high
    fixed = (low.fixed_per_sample_j_mean or 0.0) / (low.energy_per_sample_j_mean or 1.0)
    run = (
        f"{check.pair_text}: {num(high.synthesis_co2e_kg)} kg at "
        f"{HIGH_STEPS} steps vs {num(low.synthesis_co2e_kg)} kg at {LOW_STEPS} steps per "
        f"{low.target_samples:,} samples: {pct:.1f} ± {pct_std:.1f} % less "
        f"({num(high.energy_per_sample_j_mean)} vs {num(low.energy_per_sample_j_mean)} J per "
        f"sample; the fixed part is {100 * fixed:.1f} % of a {LOW_STEPS}-step sample)"
    )
    verdict = AGREES if abs(pct - expected) <= SAVING_MARGIN_PCT else DIFFERS
    why = _why(
        tr,
        analysis,
        check,
        _energy_why(check, pct),
    )
    provenance, rests_on = _rests_on(check)
    return Claim(ENERGY_KEY, topic, SECTION, text, run, pct, verdict, rule, why,
                 basis=Basis.MEASURED, provenance=provenance, rests_on=rests_on)  # fmt: skip


def _quality(
    tr: TradeoffAnalysis, analysis: Analysis, check: StepsCheck | None, missing: str
) -> Claim:
    tol = f"{100 * tr.tolerance:g} %"
    text = (
        f'{LOW_STEPS} instead of {HIGH_STEPS} steps come "albeit potentially compromising '
        'image quality" (§3.4; the paper does not measure it)'
    )
    rule = (
        f"agrees (quality compromised) if a judged metric at {LOW_STEPS} steps is worse than "
        f"at {HIGH_STEPS} steps by more than the sweep's tolerance ({tol} of the "
        f"{HIGH_STEPS}-step value); differs (quality kept) if every judged metric stays within"
    )
    topic = f"{LOW_STEPS} vs {HIGH_STEPS} steps, image quality (sweep)"
    if check is None or check.kept is None:
        what = missing if check is None else "no judged metric on both points"
        return Claim(QUALITY_KEY, topic, SECTION, text, f"not measured: {what}", None,
                     NOT_MEASURED, rule, "")  # fmt: skip
    judged = [m for m in check.quality if m.judged and m.excess is not None]
    lost = check.lost
    head = (
        f"quality kept: every judged metric ({len(judged)}) within {tol}"
        if check.kept
        else f"quality compromised on {len(lost)} of {len(judged)} judged metrics "
        f"({', '.join(m.name for m in lost)})"
    )
    run = f"{check.pair_text}, {head}: " + "; ".join(metric_change_text(m) for m in judged)
    verdict = DIFFERS if check.kept else AGREES
    noisy = [m.name for m in judged if m.ci_overlap]
    why = _why(
        tr,
        analysis,
        check,
        f"quality of {check.low.quality_samples} samples per step count from the same initial "
        "noise, 95 % bootstrap CIs"
        + (f"; the CIs overlap on {', '.join(noisy)}, so that change may be noise" if noisy else "")
        + "; the paper's 3D model and CT data may lose more (or less) with fewer steps",
    )
    provenance, rests_on = _rests_on(check)
    value = max((m.excess for m in judged), default=None)
    return Claim(QUALITY_KEY, topic, SECTION, text, run, value, verdict, rule, why,
                 basis=Basis.MEASURED, provenance=provenance, rests_on=rests_on)  # fmt: skip


def tradeoff_claims(analysis: Analysis) -> tuple[Claim, ...]:
    """The two claims of the sweep (none for a study without one)."""
    tr = analysis.tradeoff
    if tr is None:
        return ()
    check, missing = steps_check(tr)
    return (_energy(tr, analysis, check, missing), _quality(tr, analysis, check, missing))
