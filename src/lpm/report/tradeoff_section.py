"""The report's section "How to cut it": the study's energy–quality sweep in words.

The recommended recipe (sampler, steps, batch) and what it saves against the reference
(kg CO2e per ``target_samples`` samples and the paper's equivalents, synthesis alone and
with training), the quality it keeps (each judged metric, reference vs recipe with CIs,
and the tolerance), the break-even between runs, the paper's 200-step claim with quality
beside it, the machine and provenance, and every point of the sweep (failed ones as
failed). When no cheaper recipe is within tolerance it says which came closest and why.
A study without a sweep has no section (empty string).
"""

from __future__ import annotations

from collections.abc import Sequence

from lpm.report.analysis import Analysis
from lpm.report.claim import AGREES, DIFFERS, NOT_MEASURED, PROVENANCE_WORDS, Claim, hardware_text
from lpm.report.claims_tradeoff import ENERGY_KEY, QUALITY_KEY, metric_change_text
from lpm.report.html import esc, num, prov_mark, table
from lpm.report.tradeoff import TradeoffAnalysis
from lpm.report.tradeoff_steps import HIGH_STEPS, LOW_STEPS, steps_check
from lpm.report.tradeoff_tables import points_table, quality_table, spread
from lpm.results import TradeoffPoint, TradeoffRun

HEADING = "<h2 id='tradeoff'>How to cut it</h2>"
#: A deep cut (20× less CO2e): when the recipe saves less, the section names the nearest
#: recipe that would save this much and what it loses.
DEEP_CUT = 0.95


def _kg(value: float | None, std: float | None = None, point: TradeoffPoint | None = None) -> str:
    if value is None:
        return "–"
    return f"{num(value)} kg{spread(value, std)}" + (prov_mark(point.provenance) if point else "")


def _recipe(p: TradeoffPoint, several_runs: bool) -> str:
    run = f" (run {esc(p.run)}, objective {esc(p.objective)})" if several_runs else ""
    return f"{esc(p.sampler)}, {p.steps} steps, batch {p.batch_size}{run}"


def _equivalents(kg: float) -> str:
    from lpm.carbon import equivalents

    eq = equivalents(abs(kg))
    flight = f"{eq.flight_km:,.3g} km by plane" if eq.flight_km > 0 else "less than a flight"
    return (
        f"≈ {eq.car_km:,.3g} km by car, {eq.smartphone_charges:,.3g} phone charges, {flight}, "
        f"{eq.tree_seedlings_10y:,.3g} tree seedlings grown for 10 years, "
        f"{100 * eq.annual_budget_share:.2g} % of a person's annual budget "
        f"({eq.annual_budget_kg:,.0f} kg)"
    )


def _setting(analysis: Analysis, tr: TradeoffAnalysis) -> str:
    ok = tr.ok
    samplers = ", ".join(sorted({p.sampler for p in tr.points}))
    steps = ", ".join(str(s) for s in sorted({p.steps for p in tr.points}, reverse=True))
    batches = ", ".join(str(b) for b in sorted({p.batch_size for p in tr.points}))
    prov = tr.provenance
    hw = analysis.hardware()
    machine = hardware_text(hw[0]) if hw else "the study's machine (no hardware on record)"
    where = (
        f"{esc(tr.summary.region)}, PUE {num(tr.summary.pue)}"
        if tr.summary
        else esc(ok[0].region if ok else "?")
    )
    intensity = ok[0].carbon_intensity_g_per_kwh if ok else None
    g = f", {num(intensity)} g CO2e/kWh" if intensity is not None else ""
    qs = sorted({p.quality_samples for p in ok})
    quality_n = "/".join(map(str, qs)) or "?"
    prov_text = (
        f"{prov_mark(prov)} {esc(prov.value)} ({esc(PROVENANCE_WORDS[prov])})" if prov else "none"
    )
    return (
        f"<p>The study swept {len(tr.points)} recipes (sampler {esc(samplers)} × steps "
        f"{esc(steps)} × batch {esc(batches)}) of {esc(tr.model_text)}. "
        "A recipe's energy per sample is its fixed part plus steps × the energy per step, "
        "both from a short sampling run at its sampler and batch, on this study's machine "
        f"({esc(machine)}); its CO2e is for {tr.target_samples:,} samples at {where}{g}. Its "
        f"quality is that of {quality_n} samples per run, sampler and steps, from the same "
        "initial noise for every recipe, scored against held-out images (lower is better; "
        "the batch does not change it). Energy: "
        f"{prov_text}.</p>" + _caveat(tr)
    )


def _caveat(tr: TradeoffAnalysis) -> str:
    """What the numbers are for: this model on this machine, not the paper's setting."""
    if tr.paper_model:
        what = (
            "the paper's 3D size, on this machine and with lpm's own model preset: the "
            "absolute kg can be set beside the paper's (other hardware, other data)"
        )
    else:
        what = (
            f"the study's {esc(tr.model or 'own')} model on this machine, not for the paper's "
            "3D model on an A100: the absolute kg are far smaller, and what may carry over "
            "is the ratio between recipes"
        )
    return f"<p class='note'>These numbers are for {what}.</p>"


def _runs(tr: TradeoffAnalysis) -> str:
    def energy(value: float | None, scale: float, r: TradeoffRun) -> str:
        return "–" if value is None else num(value * scale) + prov_mark(r.train_provenance)

    rows = [
        [esc(r.label), esc(r.objective), f"{r.train_iterations:,}",
         energy(r.train_it_energy_kwh, 1000, r), energy(r.train_co2e_kg, 1, r)]
        for r in tr.runs.values()
    ]  # fmt: skip
    headers = ["run", "objective", "training iterations", "training IT Wh", "training kg CO2e"]
    return table(headers, rows, {2, 3, 4}) if rows else ""


def _saving_text(tr: TradeoffAnalysis, p: TradeoffPoint, ref: TradeoffPoint) -> str:
    s = tr.summary
    kg, frac = None, None
    if s and p.point_id in (s.recommended, s.closest) and s.saving_co2e_kg is not None:
        kg, frac = s.saving_co2e_kg, s.saving_fraction  # the sweep's own numbers
    elif p.synthesis_co2e_kg is not None and ref.synthesis_co2e_kg:
        kg = ref.synthesis_co2e_kg - p.synthesis_co2e_kg
        frac = kg / ref.synthesis_co2e_kg
    if kg is None:
        return ""
    pct = f" ({100 * frac:.1f} %)" if frac is not None else ""
    n = f"{tr.target_samples:,}"
    text = (
        f"Synthesis of {n} samples: <b>{_kg(p.synthesis_co2e_kg, p.synthesis_co2e_kg_std, p)}"
        f"</b> vs {_kg(ref.synthesis_co2e_kg, ref.synthesis_co2e_kg_std, ref)} for the "
        f"reference: <b>{num(kg)} kg CO2e less per {n} samples{pct}</b>, {_equivalents(kg)}."
    )
    tp, tref = tr.total_co2e(p), tr.total_co2e(ref)
    if tp is not None and tref is not None:
        more = "less" if tp <= tref else "more"
        change = f" ({100 * (1 - tp / tref):.1f} %)" if tref > 0 else ""
        text += (
            f" With the training of its run: {_kg(tp)} vs {_kg(tref)}, {num(abs(tref - tp))} "
            f"kg {more}{change}."
        )
    return text


def _recommendation(tr: TradeoffAnalysis) -> str:
    s = tr.summary
    if s is None:
        return (
            "<div class='note'>The sweep has not finished: no summary (tradeoff.json) yet, so "
            "no reference, recommendation or break-even. Its points are below.</div>"
        )
    ref, rec, closest = tr.reference, tr.recommended, tr.closest
    several = len(tr.runs) > 1
    if ref is None or not ref.ok:
        state = "is not among the sweep's points" if ref is None else f"failed ({ref.error})"
        return (
            f"<div class='note'>The reference {esc(s.reference)} {esc(state)}: nothing to judge "
            f"the recipes against. {esc(s.why)}</div>"
        )
    paper_way = " (the paper's way)" if (ref.sampler, ref.steps, ref.batch_size) == (
        "ddpm", HIGH_STEPS, 1) else ""  # fmt: skip
    head = (
        f"<p>Reference{paper_way}: {_recipe(ref, several)}; a recipe keeps its quality when "
        f"no judged metric ({esc(', '.join(s.metrics))}) is shown more than "
        f"{100 * s.tolerance:g} % worse than the reference's: the better end of the recipe's "
        "95 % interval must lie inside the tolerance limit. With tens of samples the "
        "intervals are wide, so this fails only what the samples show to be worse.</p>"
    )
    if rec is not None and rec.point_id != ref.point_id:
        return (
            head
            + f"<div class='note'><b>Recommended: {_recipe(rec, several)}</b>. "
            + _saving_text(tr, rec, ref)
            + f"</div><p class='small'>The sweep: {esc(s.why)}</p>"
            + quality_table(tr.compare(rec, ref), "reference", "recommended")
            + _deep_cut(tr, rec, ref)
        )
    near = closest or tr.nearest(ref)
    if rec is not None:
        lead = (
            "No recipe that emits less than the reference keeps every judged metric within "
            "tolerance, so the recipe to use is the reference itself."
        )
    else:
        lead = "No recipe is within tolerance of the reference on every judged metric."
    if near is None:
        return head + f"<div class='note'>{lead} {esc(s.why)}</div>"
    return (
        head
        + f"<div class='note'>{lead} <b>Closest: {_recipe(near, several)}</b>. "
        + f"Why: {esc(s.why)}. Were it used: "
        + _saving_text(tr, near, ref)
        + "</div>"
        + quality_table(tr.compare(near, ref), "reference", "closest")
    )


def _deep_cut(tr: TradeoffAnalysis, rec: TradeoffPoint, ref: TradeoffPoint) -> str:
    """When the recipe saves less than :data:`DEEP_CUT`: the nearest recipe that would."""
    kg, ref_kg = rec.synthesis_co2e_kg, ref.synthesis_co2e_kg
    if not kg or not ref_kg or 1 - kg / ref_kg >= DEEP_CUT:
        return ""
    near = tr.nearest(ref, below_kg=(1 - DEEP_CUT) * ref_kg)
    if near is None:
        return f"<p>No recipe of the sweep cuts {100 * DEEP_CUT:g} % or more.</p>"
    lost = [m for m in tr.compare(near, ref) if m.judged and m.within is False]
    why = "; ".join(metric_change_text(m) for m in lost) or "none beyond the tolerance"
    return (
        f"<p>A cut of {100 * DEEP_CUT:g} % or more: the recipe that comes closest to keeping "
        f"the quality is {_recipe(near, len(tr.runs) > 1)} "
        f"({100 * (1 - (near.synthesis_co2e_kg or 0) / ref_kg):.1f} % less); it is not "
        f"recommended because of {esc(why)}.</p>"
    )


def _best_total(tr: TradeoffAnalysis) -> str:
    best, rec = tr.best_total, tr.recommended
    if best is None or rec is None or best.point_id == rec.point_id:
        return ""
    tb, trc = tr.total_co2e(best), tr.total_co2e(rec)
    return (
        f"<p>Counting training too, {_recipe(best, len(tr.runs) > 1)} is within tolerance "
        f"and emits least for {tr.target_samples:,} samples: {_kg(tb)} with its training, vs "
        f"{_kg(trc)} for the recommended recipe (see the break-even below).</p>"
    )


def _count(samples: float) -> str:
    """A sample count: '288,000', '42', '0.219' (fewer than one sample)."""
    return f"{samples:,.0f}" if samples >= 10 else f"{samples:.3g}"


def _break_even(tr: TradeoffAnalysis) -> str:
    if tr.summary is None or not tr.summary.break_even:
        return ""
    items = []
    for b in tr.summary.break_even:
        if b.samples is None:
            head = f"{esc(b.costlier_training)} does not pay back its training against "
            head += f"{esc(b.cheaper_training)}"
        else:
            more = "beyond" if b.samples > tr.target_samples else "within"
            head = (
                f"<b>{esc(b.costlier_training)} pays back its costlier training against "
                f"{esc(b.cheaper_training)} after {_count(b.samples)} samples</b> ({more} the "
                f"{tr.target_samples:,} samples counted here)"
            )
        items.append(f"<li>{head}: {esc(b.note)}</li>")
    return (
        "<h3>Break-even between runs</h3><p>Each run at its cheapest recipe within tolerance "
        "(else its cheapest), in IT energy: the samples after which the run that trains "
        f"costlier has saved its extra training.</p><ul>{''.join(items)}</ul>"
    )


def _verdict(claim: Claim) -> str:
    css = {AGREES: "agrees", DIFFERS: "differs", NOT_MEASURED: "not-measured"}
    return f'<span class="{css.get(claim.verdict, "no-verdict")}">{esc(claim.verdict)}</span>'


def _steps(tr: TradeoffAnalysis, claims: Sequence[Claim]) -> str:
    by_key = {c.key: c for c in claims}
    parts = [
        f"<h3 id='tradeoff-steps'>The paper's {LOW_STEPS}-step claim, with quality beside it</h3>"
    ]
    for key in (ENERGY_KEY, QUALITY_KEY):
        c = by_key.get(key)
        if c is None:
            continue
        parts.append(
            f"<p><b>{esc(c.paper)}</b> — this sweep: {_verdict(c)} {esc(c.run)}.<br>"
            f"<span class='small'>rule: {esc(c.rule)}. {esc(c.why)}</span></p>"
        )
    check, _ = steps_check(tr)
    if check is not None:
        parts.append(
            quality_table(
                tr.compare(check.low, check.high),
                f"{check.high.sampler} {HIGH_STEPS} steps",
                f"{check.low.sampler} {LOW_STEPS} steps",
            )
        )
    return "".join(parts)


def tradeoff_section(analysis: Analysis, claims: Sequence[Claim]) -> str:
    """The section's HTML with its heading; empty for a study without a sweep."""
    tr = analysis.tradeoff
    if tr is None:
        return ""
    return (
        HEADING
        + _setting(analysis, tr)
        + _runs(tr)
        + _recommendation(tr)
        + _best_total(tr)
        + (
            "<p>Fig. 5 (<a href='#fig5_tradeoff'>above</a>) shows every recipe.</p>"
            if tr.ok
            else ""
        )
        + _break_even(tr)
        + _steps(tr, claims)
        + points_table(tr)
    )
