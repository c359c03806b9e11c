"""The report's "What the samples are worth": metrics with CI and floor, montage and closest
pairs embedded, copy rate, energy and CO2e per sample and per useful sample; one line for a
study without a quality record."""

from __future__ import annotations

import json
from pathlib import Path

from lpm.report.analysis import analyze
from lpm.report.quality import NO_RECORD, quality_section
from lpm.results import quality_record_path, read_quality_record
from tests.report.conftest import EVIL, write_quality
from tests.report.synthetic import record, write_results, write_spec
from tests.report.test_page import tables
from tests.results.quality_factory import make_quality_record


def _section(html: str) -> str:
    start = html.index("<h2 id='quality'>")
    return html[start : html.index("<h2", start + 1)]


def test_the_section_shows_metrics_copies_and_energy_per_useful_sample(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    section = _section(html)
    assert "What the samples are worth" in section
    metrics = next(t for t in tables(html) if t["headers"][:4] == [
        "metric", "value", "95 % CI", "floor (real vs real)"])  # fmt: skip
    by_name = {row[0]: row for row in metrics["rows"]}
    assert by_name["hu_wasserstein"][1:5] == [
        "41.5 HU",
        "35 – 49",
        "12.2 HU",
        "generated 64, real 64",
    ]
    assert "Copy rate 25 %" in section and "16 of 64 samples" in section
    energy = next(t for t in tables(html) if t["headers"][0] == "sampling cost")
    per_sample, per_useful = energy["rows"]
    # 1e-4 kWh = 360 J over 64 samples, 48 of them useful; 2e-5 kg = 0.02 g
    assert per_sample[1].startswith("5.62") and per_useful[1].startswith("7.5")
    assert per_sample[2].startswith("0.000313") and per_useful[2].startswith("0.000417")
    assert "prov-estimated" in energy["rows"][0][1]  # every energy cell carries its provenance


def test_montage_and_pairs_are_embedded_and_names_escaped(built) -> None:
    section = _section(built.html.read_text(encoding="utf-8"))
    assert section.count('<img src="data:image/png;base64,') == 2
    assert "Samples (top row) next to held-out real images" in section
    assert "training image #7 (left)" in section and "similarity 0.97" in section
    assert EVIL not in section and "&lt;script&gt;" in section


def test_a_study_without_quality_says_so_in_one_line(tmp_path: Path) -> None:
    write_results(tmp_path, [record(2, (32, 32))])
    write_spec(tmp_path)
    analysis = analyze(tmp_path)
    assert analysis.quality is None
    html = quality_section(tmp_path, analysis.quality)
    assert html == NO_RECORD and html.count("<p>") == 1


def test_a_missing_figure_is_named_not_a_crash(tmp_path: Path) -> None:
    html = quality_section(tmp_path, make_quality_record(montage="montage.png"))
    assert "montage.png is missing" in html


def test_every_sample_a_copy_has_no_energy_per_useful_sample(tmp_path: Path) -> None:
    html = quality_section(tmp_path, make_quality_record(copy_rate=1.0))
    assert "every sample is a copy" in html and "Copy rate 100 %" in html


def test_an_unreadable_record_is_a_note(tmp_path: Path) -> None:
    write_results(tmp_path, [record(2, (32, 32))])
    write_spec(tmp_path)
    write_quality(tmp_path)
    assert read_quality_record(tmp_path) is not None
    path = quality_record_path(tmp_path)
    data = json.loads(path.read_text())
    data["schema_version"] = 7
    path.write_text(json.dumps(data))
    analysis = analyze(tmp_path)
    assert analysis.quality is None
    assert any("quality record could not be read" in n for n in analysis.notes)
