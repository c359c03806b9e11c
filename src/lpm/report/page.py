"""The study report as one self-contained HTML file.

Figures are embedded as base64 PNG, the style sheet is inline, there is no script and no
external resource, so the file opens from disk in any browser. Every string that comes
from the results, the spec or the hardware is escaped with :func:`html.escape`.
Over 400 lines because it holds one thing: the report's HTML, one function per section.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from lpm.provenance import Provenance, describe_parts
from lpm.report import paper
from lpm.report.analysis import Analysis, Series
from lpm.report.claims import (
    AGREES,
    BASIS_TITLES,
    DIFFERS,
    NOT_MEASURED,
    PROVENANCE_WORDS,
    Basis,
    Claim,
    backtest_text,
    by_basis,
    run_differences,
    share_text,
)
from lpm.report.figures import FigureResult
from lpm.report.html import PROVENANCE_MARKS
from lpm.report.html import esc as _e
from lpm.report.html import num as _num
from lpm.report.html import pm as _pm
from lpm.report.html import prov_mark as _prov
from lpm.report.html import table as _table
from lpm.report.plan_section import study_when_where
from lpm.report.quality import quality_section
from lpm.report.scenarios import PhaseEnergy, SynthesisMeasurement
from lpm.report.slurm_section import slurm_section
from lpm.report.sources import equivalents_constants, pue_constants, source_title
from lpm.report.tradeoff_section import tradeoff_section

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem;width:100%}
th,td{border:1px solid #ddd;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
.agrees{background:#e5f4e3;color:#1d5e1a;font-weight:600}
.differs{background:#fdebd8;color:#8a4100;font-weight:600}
.not-measured{background:#eee;color:#555;font-weight:600}
.no-verdict{background:#e8eef8;color:#234;font-weight:600}
sup.prov{font-size:.65rem;font-weight:700;padding:0 .15rem;margin-left:.15rem;border-radius:2px}
.prov-measured{background:#d9efd5;color:#1d5e1a}.prov-estimated{background:#fbe3c4;color:#7a3d00}
.prov-simulated{background:#e6dcf3;color:#4b2a7a}.prov-mixed{background:#f5d0d0;color:#7a1a1a}
.legend{font-size:.8rem;color:#333;margin:.3rem 0}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444}.note{background:#fff8d6;padding:.5rem .8rem;
border-left:4px solid #e0b400;margin:.4rem 0}.small{font-size:.8rem;color:#555}
code{background:#f4f4f4;padding:0 .2rem}.scroll{overflow-x:auto}
"""


def _pmp(mean: float | None, std: float | None, provenance: Provenance | None) -> str:
    """mean ± std with its provenance marker."""
    if mean is None:
        return "–"
    return _pm(mean, std) + _prov(provenance)


def _legend() -> str:
    items = " · ".join(
        f"{_prov(p)} {_e(p.value)}: {_e(PROVENANCE_WORDS[p])}" for p in PROVENANCE_MARKS
    )
    return f"<p class='legend'>Provenance of each energy and CO2e value: {items}.</p>"


def _verdict(claim: Claim) -> str:
    css = {AGREES: "agrees", DIFFERS: "differs", NOT_MEASURED: "not-measured"}.get(
        claim.verdict, "no-verdict"
    )
    return f'<span class="{css}">{_e(claim.verdict)}</span>'


BASIS_INTROS = {
    Basis.MEASURED: "These rest on this study's measurements, so each can agree with the "
    "paper or differ from it; the verdict's tolerance is stated under each claim.",
    Basis.TABLES: "These follow from lpm's packaged carbon-intensity tables alone: the "
    "ratio between two regions or two months is the ratio of their intensities, whatever "
    "energy was measured. They are shown for reference, without a verdict.",
    Basis.MODEL: "These follow from a model or assumption (the prediction rule, or a "
    "synthesis energy scaled from one measured step count), so they hold by construction "
    "or are checked by lpm's backtest, never by this run; no agrees/differs.",
}


def _claims(analysis: Analysis, claims: Sequence[Claim]) -> str:
    groups = by_basis(claims)
    measured = groups.get(Basis.MEASURED, ())
    counts = {v: sum(1 for c in measured if c.verdict == v) for v in (AGREES, DIFFERS)}
    missing = len(measured) - sum(counts.values())
    other = len(claims) - len(measured)
    parts = [
        f"<p>Of the paper's {len(measured)} claims that this run's measurements can test, "
        f"{counts[AGREES]} agree, {counts[DIFFERS]} differ and {missing} were not measured; "
        f"{other} more follow from tables or a model and carry no verdict. The paper's "
        f"numbers were measured on {_e(paper.PAPER_HARDWARE)} with private CT; this run's "
        "on its own hardware and data, so absolute values are expected to differ while the "
        "trends can be compared. Differences that apply to every measured claim:</p><ul>"
        + "".join(f"<li>{_e(d)}</li>" for d in run_differences(analysis))
        + "</ul>",
        _legend(),
    ]
    headers = ("topic", "§", "the paper", "this run", "verdict", "rests on", "why it can differ")
    for basis, group in groups.items():
        rows = [
            (
                _e(c.topic),
                _e(c.section),
                _e(c.paper),
                _e(c.run),
                _verdict(c),
                (_prov(c.provenance) + " " if c.provenance else "") + _e(c.rests_on or "–"),
                f"{_e(c.why)}<br><span class='small'>rule: {_e(c.rule)}</span>",
            )
            for c in group
        ]
        parts.append(
            f"<h3 id='claims-{basis.value}'>{_e(BASIS_TITLES[basis])} ({len(group)})</h3>"
            f"<p class='small'>{_e(BASIS_INTROS[basis])}</p>" + _table(headers, rows, set())
        )
    return "".join(parts)


def _figure(fig: FigureResult) -> str:
    data = base64.b64encode(fig.png.read_bytes()).decode("ascii")
    pdf = f"figures/{fig.pdf.name}"
    return (
        f'<figure id="{_e(fig.name)}"><img src="data:image/png;base64,{data}" '
        f'alt="{_e(fig.title)}"><figcaption><b>{_e(fig.name)}</b>: {_e(fig.caption)} '
        f'<a href="{_e(pdf)}">PDF</a></figcaption></figure>'
    )


def _measure_text(measured: dict[str, Any]) -> str:
    """'20 (+2) it., 4 (+1) samples': measured after the warm-up (in brackets)."""
    if not measured:
        return "–"
    parts = [
        f"{measured.get('train_iterations', '?')} (+{measured.get('warmup_iterations', 0)}) it.",
        f"{measured.get('samples', '?')} (+{measured.get('warmup_samples', 0)}) samples",
    ]
    if measured.get("sample_steps"):
        parts.append(f"at {measured['sample_steps']} steps")
    return "<br>".join(_e(p) for p in parts)


def _flops_per_j(training: PhaseEnergy | None, synthesis: PhaseEnergy | None) -> str:
    def one(energy: PhaseEnergy | None) -> str:
        if energy is None:
            return "–"
        return "unknown" if energy.flops_per_joule is None else _num(energy.flops_per_joule)

    return f"{one(training)} / {one(synthesis)}"


def _share(value: float | None) -> str:
    return share_text(value)


def _fixed_cell(m: SynthesisMeasurement | None, synthesis: PhaseEnergy | None) -> str:
    """The fixed J per sample and its share of a sample at the scenario's steps."""
    if m is None:
        return "–"
    share = m.fixed_share if m.direct or synthesis is None else synthesis.fixed_share
    return (
        _pmp(m.fixed_per_sample_j_mean, m.fixed_per_sample_j_std, m.provenance)
        + f"<br>({_share(share)}{'' if m.direct else ', predicted'})"
    )


def _provenance_cell(analysis: Analysis, item: Any) -> str:
    s = item.scenario
    parts = {}
    if s.training is not None:
        parts["training"] = s.training.provenance
    if s.synthesis is not None:
        parts["synthesis"] = s.synthesis.provenance
    detail = describe_parts(parts) if len(set(parts.values())) > 1 else ""
    return (
        _prov(s.provenance)
        + " "
        + _e(s.provenance.value)
        + (f"<br><span class='small'>{_e(detail)}</span>" if detail else "")
    )


def _expected_error(analysis: Analysis) -> str:
    bt = analysis.backtest
    return (
        f"Expected error of the predictions: training — {_e(backtest_text(bt, 'training'))}; "
        f"synthesis — {_e(backtest_text(bt, 'synthesis'))}."
    )


def _scenarios(analysis: Analysis) -> str:
    rows = []
    for item in analysis.scenarios:
        s, t, y = item.scenario, item.training, item.synthesis
        te, ye = s.training, s.synthesis
        rows.append(
            (
                _e(s.scenario_id),
                _e(s.size_label),
                _e(s.model),
                _e(s.processes),
                _e(f"{s.sampler} {s.steps}"),
                _measure_text(s.measured),
                _pmp(te and te.it_energy_kwh, te and te.it_energy_kwh_std, te and te.provenance),
                _pmp(t and t.co2e_kg, t and t.co2e_kg_std, t and t.provenance),
                _pmp(ye and ye.it_energy_kwh, ye and ye.it_energy_kwh_std, ye and ye.provenance),
                _pmp(y and y.co2e_kg, y and y.co2e_kg_std, y and y.provenance),
                _fixed_cell(s.sample_measurement, ye),
                _flops_per_j(te, ye),
                _provenance_cell(analysis, item),
            )
        )
    headers = (
        "scenario",
        "size",
        "model",
        "proc.",
        "sampler, steps",
        "measured (+warm-up)",
        "training IT kWh",
        "training kg CO2e",
        "synthesis IT kWh",
        "synthesis kg CO2e",
        "fixed J per sample (share)",
        "FLOP/J training / synthesis",
        "provenance",
    )
    base = analysis.base
    where = (
        f"{base.region}, {base.intensity_g_per_kwh:g} g CO2e/kWh ({base.intensity_source}, "
        f"{base.intensity_basis}, {base.intensity_period}), PUE {base.pue:g}"
        if base
        else analysis.base_region
    )
    t = analysis.spec.targets
    intro = (
        f"<p>Predicted for the targets: training {_e(t.get('train_iterations'))} iterations, "
        f"synthesis {_e(t.get('samples'))} samples × the scenario's steps, each sample "
        "costing its measured fixed part (noise, decoding, writing) plus its steps. IT "
        "energy (kWh) is before PUE; CO2e is the footprint the study stored with each "
        f"prediction, at {_e(where)}. Values are mean ± one standard deviation of the "
        f"measured steps. {_expected_error(analysis)} FLOP/J is 'unknown' where the FLOPs "
        "could not be counted.</p>" + _legend()
    )
    return intro + _table(headers, rows, set(range(6, 12)))


def _synthesis(analysis: Analysis, claims: Sequence[Claim]) -> str:
    """Per-sample energy, the fixed cost and its share, and the steps comparison."""
    rows = []
    for item in analysis.scenarios:
        s = item.scenario
        m = s.sample_measurement
        if m is None:
            continue
        how = "at its own steps" if m.direct else f"at {m.steps} steps, scaled"
        rows.append(
            (
                _e(s.scenario_id),
                _e(f"{s.sampler} {s.steps}"),
                _e(f"{m.samples} samples {how}"),
                _pmp(m.energy_per_sample_j_mean, m.energy_per_sample_j_std, m.provenance),
                _pmp(m.fixed_per_sample_j_mean, m.fixed_per_sample_j_std, m.provenance),
                _e(_share(m.fixed_share)),
                _e(_share(s.synthesis.fixed_share if s.synthesis else None)),
                _pmp(m.energy_per_step_j_mean, m.energy_per_step_j_std, m.provenance),
                _pm(m.fixed_per_sample_s_mean, m.fixed_per_sample_s_std),
            )
        )
    if not rows:
        return "<p>No synthesis was measured.</p>"
    headers = (
        "scenario",
        "sampler, steps",
        "measured",
        "J per sample",
        "fixed J per sample",
        "fixed share",
        "fixed share at the scenario's steps",
        "J per denoising step",
        "fixed s per sample",
    )
    steps = next((c for c in claims if c.key == "steps"), None)
    comparison = (
        f"<p><b>Steps</b> ({_e(steps.verdict)}): {_e(steps.run)}.</p>" if steps is not None else ""
    )
    return (
        "<p>Each sample costs a fixed part — drawing its noise, decoding the latent and "
        "writing its files — plus its denoising steps. Both are measured per batch (after "
        "the warm-up) and divided by the batch size; the fixed share is the fixed part's "
        "share of the measured sample's energy, and at the scenario's steps its share of "
        "the predicted sample (the same when the sample was measured at its own steps). "
        "Fewer steps shrink only the second part.</p>"
        + comparison
        + _table(headers, rows, set(range(3, 9)))
    )


def _backtest(analysis: Analysis) -> str:
    bt = analysis.backtest
    if bt is None:
        return (
            "<div class='note'>No backtest on record: how far a prediction from a short "
            "measurement falls from the measured total of a long run is not known for this "
            "lpm (run <code>bench/prediction_backtest.py</code>).</div>"
        )
    rows = []
    for run in bt.runs.values():
        for p in run.points:
            rows.append(
                (
                    _e(run.phase),
                    _e(run.setup),
                    _e(f"{p.fraction:.0%} ({p.measured} of {run.target:,} {run.unit})"),
                    _pmp(p.predicted_kwh, p.predicted_kwh_std, run.provenance),
                    _e(f"{_num(p.ci95_kwh[0])}–{_num(p.ci95_kwh[1])}") + _prov(run.provenance),
                    _num(run.actual_kwh) + _prov(run.provenance),
                    _e(f"{p.error_pct:+.1f} %"),
                    _e("–" if p.inside_std is None else "yes" if p.inside_std else "no"),
                    _e("yes" if p.inside_ci95 else "no"),
                )
            )
    headers = (
        "phase",
        "setup",
        "predicted from",
        "predicted kWh",
        "95 % interval kWh",
        "measured kWh",
        "error",
        "inside ± 1 std",
        "inside 95 %",
    )
    return (
        f"<p>lpm checked its own prediction rule: long runs on {_e(bt.machine)} "
        f"({_e(bt.date)}, <code>{_e(bt.command)}</code>) predicted from their first part "
        "and compared with their measured total (error = predicted − measured, relative to "
        "measured). The scenarios above are predicted the same way, usually from a far "
        "smaller share of their target. In short: "
        + "; ".join(_e(f"{r.phase} {r.summary()}") for r in bt.runs.values())
        + ".</p>"
        + _table(headers, rows, set(range(3, 6)))
    )


def _location_table(series: Sequence[Series], axis: str) -> str:
    if not series:
        return "<p>not measured in this run.</p>"
    first = series[0]
    headers = [axis, f"g CO2e/kWh ({first.basis})"] + [f"{s.phase} kg CO2e" for s in series]
    rows = []
    for i, x in enumerate(first.x):
        row = [_e(x), _num(first.values[i])]
        row += [_pmp(s.y[i], s.yerr[i], s.provenances[i]) for s in series]
        rows.append(row)
    return _table(headers, rows, set(range(1, len(headers))))


def _failed(analysis: Analysis) -> str:
    if not analysis.failed:
        return ""
    rows = [
        (_e(s.scenario_id), _e(s.status), _e(s.error or "no prediction in the record"))
        for s in analysis.failed
    ]
    return "<h3>Scenarios without a result</h3>" + _table(
        ("scenario", "status", "error"), rows, set()
    )


def _hardware(analysis: Analysis) -> str:
    machines = analysis.machines()
    if not machines:
        return "<p>The records carry no hardware description.</p>"
    parts = []
    for n, (ctx, ids) in enumerate(machines, start=1):
        rows = []
        for key, value in ctx.items():
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            rows.append((_e(key), _e(text)))
        which = "scenario" if len(ids) == 1 else "scenarios"
        parts.append(
            f"<h3>Machine {n} ({len(ids)} {which})</h3>"
            f"<p class='small'>The context of {_e(ids[0])}"
            + (f"; the same machine ran {_e(', '.join(ids[1:]))}" if len(ids) > 1 else "")
            + ".</p>"
            + _table(("field", "value"), rows, set())
        )
    return "".join(parts)


def _measured_vs_estimated(analysis: Analysis) -> str:
    scen = [i.scenario for i in analysis.scenarios]
    counts = {p: sum(1 for s in scen if s.provenance is p) for p in PROVENANCE_MARKS}
    kinds = ", ".join(f"{n} {p.value}" for p, n in counts.items() if n)
    stored = sum(
        1 for i in analysis.scenarios for fp in (i.training, i.synthesis) if fp and fp.stored
    )
    items = [
        "<li><b>Measured</b>: each scenario ran a short training and sampling run; its "
        "energy per iteration, per denoising step and per sample besides its steps (the "
        "fixed cost) was measured as mean ± std over the steps after a warm-up. How each "
        f"energy was obtained is its provenance ({_e(kinds)} scenarios): "
        + "; ".join(f"{_e(p.value)}: {_e(PROVENANCE_WORDS[p])}" for p in PROVENANCE_MARKS)
        + ".</li>",
        "<li><b>Predicted</b>: the training target is the measured mean per iteration × "
        "the iterations; the synthesis target is samples × (fixed cost + steps × the "
        "energy per step), measured at the scenario's own step count "
        "(lpm.energy.predict_synthesis). The ± is the measured spread scaled the same way; "
        f"{_e(_expected_error(analysis))}</li>",
        "<li><b>Computed</b>: CO2e = IT energy × PUE × carbon intensity (Eq. 1 of the "
        f"paper). {stored} scenario CO2e values are the footprints stored by the study; "
        "regions and months apply Eq. 1 to the same stored energy with other intensities, "
        "each comparison on one intensity basis.</li>",
        f"<li><b>Taken from the paper</b>: the claims' numbers ({_e(paper.PAPER_ID)}).</li>",
    ]
    return f"<ul>{''.join(items)}</ul>"


def _constants(analysis: Analysis) -> str:
    rows = []
    for c in pue_constants(analysis.pue_values) + equivalents_constants():
        rows.append(
            (
                _e(c.key),
                _e(c.value),
                _e(c.unit),
                _e(c.description),
                _e(c.source),
                _e(source_title(c.source)),
            )
        )
    table = _table(("constant", "value", "unit", "meaning", "source id", "source"), rows, {1})
    irows = [
        (
            _e(i.region),
            _e(i.name),
            _e(f"{i.g_per_kwh:g}"),
            _e(i.basis),
            _e(i.period),
            _e(i.source),
            _e(source_title(i.source)),
        )
        for i in analysis.intensities
    ]
    itable = _table(
        ("region", "name", "g CO2e/kWh", "basis", "period", "source id", "source"), irows, {2}
    )
    return (
        "<h3>PUE and equivalents</h3>"
        + table
        + "<h3>Carbon intensities used</h3>"
        + itable
        + "<p class='small'>Full provenance of every table: docs/SOURCES.md in lpm.</p>"
    )


def _notes(analysis: Analysis) -> str:
    notes = list(analysis.notes)
    if analysis.failed:
        notes.append(f"{len(analysis.failed)} scenario(s) have no usable result (see below)")
    return "".join(f"<div class='note'>{_e(n)}</div>" for n in notes)


def render(
    analysis: Analysis,
    claims: Sequence[Claim],
    figures: Sequence[FigureResult],
    *,
    title: str | None = None,
) -> str:
    """The report's HTML text."""
    name = analysis.spec.raw.get("name") or analysis.study_dir.name
    title = title or f"lpm footprint study: {name}"
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    n_ok, n_failed = len(analysis.scenarios), len(analysis.failed)
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='small'>Study directory {_e(analysis.study_dir)}; built {_e(now)} by "
        f"<code>lpm report</code>; {n_ok} scenarios with results, {n_failed} without; "
        f"energy {_e(analysis.provenance().value)}. "
        f"Compared with {_e(paper.PAPER_TITLE)}.</p>",
        _notes(analysis),
        "<h2 id='claims'>The paper's claims and this run</h2>",
        _claims(analysis, claims),
        "<h2 id='figures'>Figures</h2>",
        "".join(_figure(f) for f in figures),
        "<h2 id='scenarios'>Scenarios</h2>",
        _scenarios(analysis),
        _failed(analysis),
        "<h2 id='synthesis'>Synthesis per sample: steps and the fixed cost</h2>",
        _synthesis(analysis, claims),
        "<h2 id='backtest'>How good is the prediction</h2>",
        _backtest(analysis),
        "<h2 id='regions'>Regions and months</h2>",
    ]
    loc = analysis.location_scenario
    if loc is not None:
        body.append(
            f"<p>Scenario {_e(loc.scenario.scenario_id)} placed in each region and month: its "
            "stored IT energy and PUE with each intensity (Eq. 1).</p>"
        )
    body += [
        "<h3>Regions (yearly intensity)</h3>",
        _location_table(analysis.regions, "region"),
        f"<h3>Months ({_e(analysis.spec.months_region)})</h3>",
        _location_table(analysis.months, "month"),
        "<h2 id='quality'>What the samples are worth</h2>",
        quality_section(analysis.study_dir, analysis.quality),
        tradeoff_section(analysis, claims),  # empty without a sweep
        study_when_where(analysis),  # empty without a predicted job
        slurm_section(analysis.study_dir, analysis.results.records),  # empty off Slurm
        "<h2 id='hardware'>Hardware</h2>",
        _hardware(analysis),
        "<h2 id='method'>What was measured and what estimated</h2>",
        _measured_vs_estimated(analysis),
        "<h2 id='sources'>Constants and their sources</h2>",
        _constants(analysis),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
