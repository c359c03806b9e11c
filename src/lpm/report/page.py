"""The study report as one self-contained HTML file.

Figures are embedded as base64 PNG, the style sheet is inline, there is no script and no
external resource, so the file opens from disk in any browser. Every string that comes
from the results, the spec or the hardware is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from lpm.report import paper
from lpm.report.analysis import Analysis, PhaseFootprint, Series
from lpm.report.claims import AGREES, DIFFERS, Claim, run_differences
from lpm.report.figures import FigureResult
from lpm.report.sources import equivalents_constants, pue_constants, source_title

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
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444}.note{background:#fff8d6;padding:.5rem .8rem;
border-left:4px solid #e0b400;margin:.4rem 0}.small{font-size:.8rem;color:#555}
code{background:#f4f4f4;padding:0 .2rem}.scroll{overflow-x:auto}
"""


def _e(value: Any) -> str:
    """Escape any value for HTML text and attributes."""
    return escape(str(value), quote=True)


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 10 ** (digits + 2) or abs(value) < 10 ** -(digits + 1):
        return f"{value:.{digits - 1}e}"
    return f"{value:,.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}g}"


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "–"
    return f"{_num(mean)} ± {_num(std or 0.0, 2)}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], num_cols: set[int]) -> str:
    """A table; cells are already-escaped HTML fragments."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{c}</td>' if i in num_cols else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _verdict(claim: Claim) -> str:
    css = {AGREES: "agrees", DIFFERS: "differs"}.get(claim.verdict, "not-measured")
    return f'<span class="{css}">{_e(claim.verdict)}</span>'


def _claims(analysis: Analysis) -> str:
    claims = analysis.claims
    rows = [
        (
            _e(c.topic),
            _e(c.section),
            _e(c.paper),
            _e(c.run),
            _verdict(c),
            f"{_e(c.why)}<br><span class='small'>rule: {_e(c.rule)}</span>",
        )
        for c in claims
    ]
    counts = {v: sum(1 for c in claims if c.verdict == v) for v in (AGREES, DIFFERS)}
    missing = len(claims) - sum(counts.values())
    summary = (
        f"<p>{counts[AGREES]} of the paper's {len(claims)} claims agree with this run, "
        f"{counts[DIFFERS]} differ, {missing} were not measured. The paper's numbers were "
        f"measured on {_e(paper.PAPER_HARDWARE)} with private CT; this run's on its own "
        "hardware and data, so absolute values are expected to differ while the trends can "
        "be compared. Differences that apply to every measured claim:</p><ul>"
        + "".join(f"<li>{_e(d)}</li>" for d in run_differences(analysis))
        + "</ul>"
    )
    headers = ("topic", "§", "the paper", "this run", "verdict", "why it can differ")
    return summary + _table(headers, rows, set())


def _figure(fig: FigureResult) -> str:
    data = base64.b64encode(fig.png.read_bytes()).decode("ascii")
    pdf = f"figures/{fig.pdf.name}"
    return (
        f'<figure id="{_e(fig.name)}"><img src="data:image/png;base64,{data}" '
        f'alt="{_e(fig.title)}"><figcaption><b>{_e(fig.name)}</b>: {_e(fig.caption)} '
        f'<a href="{_e(pdf)}">PDF</a></figcaption></figure>'
    )


def _measure_text(measured: dict[str, Any]) -> str:
    if not measured:
        return "–"
    return _e(", ".join(f"{k} {v}" for k, v in measured.items()))


def _flops_per_j(fp: PhaseFootprint | None, energy: Any) -> str:
    if fp is None or energy is None or energy.flops_per_joule is None:
        return "–"
    return _num(energy.flops_per_joule)


def _scenarios(analysis: Analysis) -> str:
    rows = []
    for item in analysis.scenarios:
        s, t, y = item.scenario, item.training, item.synthesis
        rows.append(
            (
                _e(s.scenario_id),
                _e(f"{s.dims}D"),
                _e(s.size_label),
                _e(s.model),
                _e(s.processes),
                _e(f"{s.sampler} {s.steps}"),
                _measure_text(s.measured),
                _pm(t and t.it_energy_kwh, t and t.it_energy_kwh_std),
                _pm(t and t.co2e_kg, t and t.co2e_kg_std),
                _pm(y and y.it_energy_kwh, y and y.it_energy_kwh_std),
                _pm(y and y.co2e_kg, y and y.co2e_kg_std),
                _flops_per_j(t, s.training),
                _flops_per_j(y, s.synthesis),
                _e("estimated" if s.estimated else "measured"),
            )
        )
    headers = (
        "scenario",
        "dims",
        "size",
        "model",
        "processes",
        "sampler, steps",
        "measured budget",
        "training IT kWh",
        "training kg CO2e",
        "synthesis IT kWh",
        "synthesis kg CO2e",
        "training FLOP/J",
        "synthesis FLOP/J",
        "power",
    )
    base = next((i.training or i.synthesis for i in analysis.scenarios), None)
    where = (
        f"{base.region}, {base.intensity_g_per_kwh:g} g CO2e/kWh ({base.intensity_source}, "
        f"{base.intensity_basis}, {base.intensity_period})"
        if base
        else analysis.base_region
    )
    t = analysis.spec.targets
    intro = (
        f"<p>Predicted for the targets: training {_e(t.get('train_iterations'))} iterations, "
        f"synthesis {_e(t.get('samples'))} samples × the scenario's steps. IT energy "
        f"(kWh) is before PUE; CO2e applies PUE and the carbon intensity of {_e(where)}. "
        "Values are mean ± one standard deviation.</p>"
    )
    return intro + _table(headers, rows, set(range(7, 13)))


def _location_table(series: Sequence[Series], axis: str) -> str:
    if not series:
        return "<p>not measured in this run.</p>"
    first = series[0]
    headers = [axis, "g CO2e/kWh"] + [f"{s.phase} kg CO2e" for s in series]
    rows = []
    for i, x in enumerate(first.x):
        row = [_e(x), _num(first.values[i])]
        row += [_pm(s.y[i], s.yerr[i]) for s in series]
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
    contexts = analysis.hardware()
    if not contexts:
        return "<p>The records carry no hardware description.</p>"
    parts = []
    for n, ctx in enumerate(contexts, start=1):
        rows = []
        for key, value in ctx.items():
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            rows.append((_e(key), _e(text)))
        used = sum(1 for i in analysis.scenarios if i.scenario.hardware == ctx)
        parts.append(
            f"<h3>Machine {n} ({used} scenarios)</h3>" + _table(("field", "value"), rows, set())
        )
    return "".join(parts)


def _measured_vs_estimated(analysis: Analysis) -> str:
    scen = [i.scenario for i in analysis.scenarios]
    est = [s for s in scen if s.estimated]
    meas = [s for s in scen if not s.estimated]
    items = [
        f"<li><b>Measured</b>: each scenario ran a short training and sampling run; its "
        "energy per iteration and per denoising step (mean ± std) was measured "
        f"({len(meas)} scenarios with energy counters such as NVML or RAPL, {len(est)} with "
        "power estimated from TDP or a simulated meter where no counter was available).</li>",
        "<li><b>Predicted</b>: the training target and the synthesis target are the measured "
        "mean per step × the number of steps (lpm.energy.predict); the ± is the spread of "
        "the measured steps scaled the same way.</li>",
        "<li><b>Computed</b>: CO2e = IT energy × PUE × carbon intensity (Eq. 1 of the "
        "paper); regions and months reuse the same predicted energy with other "
        "intensities.</li>",
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


def render(analysis: Analysis, figures: Sequence[FigureResult], *, title: str | None = None) -> str:
    """The report's HTML text."""
    name = analysis.spec.raw.get("name") or analysis.study_dir.name
    title = title or f"lpm footprint study: {name}"
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    n_ok, n_failed = len(analysis.scenarios), len(analysis.failed)
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='small'>Study directory {_e(analysis.study_dir)}; built {_e(now)} by "
        f"<code>lpm report</code>; {n_ok} scenarios with results, {n_failed} without. "
        f"Compared with {_e(paper.PAPER_TITLE)}.</p>",
        _notes(analysis),
        "<h2 id='claims'>The paper's claims and this run</h2>",
        _claims(analysis),
        "<h2 id='figures'>Figures</h2>",
        "".join(_figure(f) for f in figures),
        "<h2 id='scenarios'>Scenarios</h2>",
        _scenarios(analysis),
        _failed(analysis),
        "<h2 id='regions'>Regions and months</h2>",
    ]
    loc = analysis.location_scenario
    if loc is not None:
        body.append(
            f"<p>Scenario {_e(loc.scenario.scenario_id)} placed in each region and month.</p>"
        )
    body += [
        "<h3>Regions (yearly intensity)</h3>",
        _location_table(analysis.regions, "region"),
        f"<h3>Months ({_e(analysis.spec.months_region)})</h3>",
        _location_table(analysis.months, "month"),
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
