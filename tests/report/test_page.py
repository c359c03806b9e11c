"""The HTML report: self-contained, escaped, with claims, hardware and sources."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lpm.provenance import Provenance
from lpm.report import build_report
from tests.report.conftest import EVIL
from tests.report.synthetic import record, write_backtest, write_results, write_spec


class _Tables(HTMLParser):
    """Every table of a page as (headers, rows of cell HTML), plus the last h2/h3 before it."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._heading = ""
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3"):
            self._in_heading, self._heading = True, ""
        elif tag == "table":
            self.tables.append({"heading": self._heading, "headers": [], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif self._cell is not None:
            self._cell.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag):
        if tag in ("h2", "h3"):
            self._in_heading = False
        elif tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell)
            table = self.tables[-1]
            if tag == "th":
                table["headers"].append(text)
                table["rows"].pop() if table["rows"] == [[]] else None
            else:
                table["rows"][-1].append(text)
            self._cell = None

    def handle_data(self, data):
        if self._in_heading:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> list[dict]:
    parser = _Tables()
    parser.feed(html)
    for t in parser.tables:
        t["rows"] = [r for r in t["rows"] if r]
    return parser.tables


def test_report_is_self_contained(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<img src="data:image/png;base64,') == 9  # 7 figures, montage, pair
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()


def test_user_strings_are_escaped(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in html  # hardware, spec name
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; out of memory" in html  # failed scenario
    assert "&lt;b&gt;lab &amp; co&lt;/b&gt;" in html


def test_claims_hardware_and_sources_are_reported(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    for claim in built.claims:
        assert claim.verdict in html
    assert "94×" in html and "reduce synthesis emissions by 80 %" in html
    assert "Test CPU" in html
    for source_id in ("paper2024", "eea_cars", "epa_equiv", "myclimate", "electricitymaps_hourly"):
        assert f"<td>{source_id}</td>" in html, source_id
    assert "car_g_per_km" in html and "108.2" in html
    assert "PUE (paper_default, 2022)" in html
    assert "What was measured and what estimated" in html


ENERGY_WORDS = ("kWh", "CO2e", "J per", "fixed J")


def test_every_energy_cell_carries_its_provenance(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    checked = 0
    for table in tables(html):
        for col, header in enumerate(table["headers"]):
            if not any(w in header for w in ENERGY_WORDS) or "g CO2e/kWh" in header:
                continue
            for row in table["rows"]:
                cell = row[col]
                if cell.strip() in ("–", "", "failed"):  # no energy (a failed sweep point)
                    continue
                assert 'class="prov prov-estimated"' in cell, (table["heading"], header, cell)
                checked += 1
    assert checked > 50
    assert "Provenance of each energy and CO2e value" in html  # the legend
    for p in Provenance:
        assert f"{p.value}: " in html


def test_claims_are_grouped_by_basis_and_only_measured_ones_judged(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    groups = {
        t["heading"]: t for t in tables(html) if t["heading"].startswith(("Measured", "From"))
    }
    assert list(groups) == [
        "Measured on this run (17)",  # 15 + the 200-step claim on the sweep (energy, quality)
        "From the packaged tables (2)",
        "From a model (1)",
    ]
    verdict_col = groups["From the packaged tables (2)"]["headers"].index("verdict")
    for name, table in groups.items():
        verdicts = {re.sub("<[^>]+>", "", row[verdict_col]) for row in table["rows"]}
        if name.startswith("Measured"):
            assert verdicts <= {"agrees", "differs", "not measured"}
        else:
            assert not verdicts & {"agrees", "differs"}, (name, verdicts)
    assert "measured by energy counters, as in the paper" not in html


def test_fixed_cost_is_a_column_and_a_section(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    scen = next(t for t in tables(html) if "fixed J per sample (share)" in t["headers"])
    col = scen["headers"].index("fixed J per sample (share)")
    cells = [row[col] for row in scen["rows"]]
    assert all("±" in c and "%)" in c for c in cells)
    synth = next(t for t in tables(html) if t["heading"].startswith("Synthesis per sample"))
    assert "fixed share" in synth["headers"]
    shares = {row[synth["headers"].index("fixed share")] for row in synth["rows"]}
    assert shares == {"20 %", "4.8 %"}  # 50 of 250 and 50 of 1050 step-equivalents
    assert "<b>Steps</b> (agrees): 3D, measured per sample:" in html


def test_backtest_is_quoted_next_to_the_prediction(tmp_path: Path) -> None:
    write_results(tmp_path, [record(2, (32, 32)), record(2, (64, 64))])
    write_spec(tmp_path)
    bt = write_backtest(tmp_path / "bt.json", error_pct=4.0)
    out = build_report(tmp_path, backtest_path=bt)
    html = out.html.read_text(encoding="utf-8")
    assert "no backtest on record" not in html
    assert "+4.0 % when predicted from 1% of 3,000 iterations" in html
    claim = next(c for c in out.claims if c.key == "prediction")
    assert claim.verdict == "backtested" and claim.basis == "model"
    backtest = next(t for t in tables(html) if t["heading"] == "How good is the prediction")
    assert len(backtest["rows"]) == 8  # 2 phases x 4 fractions
    assert "inside ± 1 std" in backtest["headers"]
    assert (
        "training from 1%–10% of the run: +0.4 % to +4.0 %, measured total inside the 95 %" in html
    )
    assert "inside ± 1 std 4 of 4" in html
    absolute = next(c for c in out.claims if c.key == "absolute-training-2d")
    assert "± " in absolute.run and "expected error of the prediction: +4.0 %" in absolute.run

    missing = build_report(tmp_path, backtest_path=tmp_path / "none.json")
    html = missing.html.read_text(encoding="utf-8")
    assert "No backtest on record" in html
    assert (
        next(c for c in missing.claims if c.key == "prediction").verdict == "no backtest on record"
    )


def test_unreadable_backtest_is_a_note_not_a_crash(tmp_path: Path) -> None:
    write_results(tmp_path, [record(2, (32, 32))])
    bad = tmp_path / "bt.json"
    bad.write_text('{"schema": 99}')
    out = build_report(tmp_path, backtest_path=bad)
    assert any("backtest could not be read" in n and "schema 99" in n for n in out.analysis.notes)


@pytest.mark.parametrize(
    ("provenance", "words"),
    [
        (Provenance.SIMULATED, "all 2 scenarios simulated (simulated: fixed watts set by the user"),
        (Provenance.MEASURED, "power: measured by energy counters, as in the paper"),
    ],
)
def test_claims_state_the_provenance_they_rest_on(
    tmp_path: Path, provenance: Provenance, words: str
) -> None:
    write_results(
        tmp_path,
        [record(2, (32, 32), provenance=provenance), record(2, (64, 64), provenance=provenance)],
    )
    out = build_report(tmp_path, backtest_path=tmp_path / "none.json")
    html = out.html.read_text(encoding="utf-8")
    assert words in html
    size = next(c for c in out.claims if c.key == "size-training-2d")
    assert size.provenance == provenance
    if provenance is not Provenance.MEASURED:
        assert "as in the paper" not in html


def test_scaled_synthesis_shows_the_fixed_share_at_its_steps(tmp_path: Path) -> None:
    write_results(tmp_path, [record(2, (32, 32), steps=1000, sample_steps=10)])
    out = build_report(tmp_path, backtest_path=tmp_path / "none.json")
    html = out.html.read_text(encoding="utf-8")
    scen = next(t for t in tables(html) if "fixed J per sample (share)" in t["headers"])
    cell = scen["rows"][0][scen["headers"].index("fixed J per sample (share)")]
    assert cell.endswith("<br>(4.8 %, predicted)")  # 50 of 1050 step-equivalents, not 50 of 60
    synth = next(t for t in tables(html) if t["heading"].startswith("Synthesis per sample"))
    row = synth["rows"][0]
    assert row[synth["headers"].index("measured")] == "4 samples at 10 steps, scaled"
    assert row[synth["headers"].index("fixed share")] == "83 %"
    assert row[synth["headers"].index("fixed share at the scenario's steps")] == "4.8 %"
