"""Figures built from synthetic results plot the right series and write PNG + PDF."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpm.report.analysis import analyze
from lpm.report.figures import fig2_model_size, fig4a_processes, fig4b_steps
from tests.report.synthetic import SIZES, record, synth_kwh, train_kwh, write_results

EXPECTED_NAMES = (
    "fig1_image_size",
    "fig2_model_size",
    "fig3a_regions",
    "fig3b_months",
    "fig4a_processes",
    "fig4b_steps",
    "fig5_tradeoff",
)


def kg(kwh: float, g_per_kwh: float = 251.0) -> float:
    return kwh * 1.55 * g_per_kwh / 1000


def _series(fig, name):
    return next(s for s in fig.series if s.name == name)


def test_six_panels_as_png_and_pdf(built) -> None:
    figs = {f.name: f for f in built.figures}
    assert tuple(figs) == EXPECTED_NAMES
    for fig in built.figures:
        assert fig.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert fig.pdf.read_bytes()[:5] == b"%PDF-"
        assert fig.png.parent.name == "figures"
        assert fig.measured


def test_fig1_series_are_co2e_by_image_size(built) -> None:
    fig1 = built.figures[0]
    assert {s.name for s in fig1.series} == {
        "training 2D",
        "training 3D",
        "synthesis 2D",
        "synthesis 3D",
    }
    t3 = _series(fig1, "training 3D")
    assert t3.x == ("16³", "24³", "32³")
    assert t3.y == pytest.approx([kg(train_kwh(s, "small", 1)) for s in SIZES[3]])
    assert t3.yerr == pytest.approx([0.1 * y for y in t3.y])
    s2 = _series(fig1, "synthesis 2D")
    assert s2.x == ("32²", "48²", "64²")
    assert s2.y == pytest.approx([kg(synth_kwh(s, "small", 1000)) for s in SIZES[2]])


def test_fig2_fig4_series_hold_the_other_settings_fixed(built) -> None:
    figs = {f.name: f for f in built.figures}
    m = _series(figs["fig2_model_size"], "synthesis 3D")
    assert m.x == ("small", "medium", "large")
    size = SIZES[3][0]
    assert m.y == pytest.approx([kg(synth_kwh(size, x, 1000)) for x in m.x])
    p = _series(figs["fig4a_processes"], "training 2D")
    assert p.x == ("1", "4")
    assert p.y == pytest.approx([kg(train_kwh(SIZES[2][0], "small", n)) for n in (1, 4)])
    st = _series(figs["fig4b_steps"], "synthesis 3D")
    assert st.x == ("200", "1000")
    assert st.y == pytest.approx([kg(synth_kwh(size, "small", n)) for n in (200, 1000)])


def test_fig3_series_are_regions_and_months(built) -> None:
    figs = {f.name: f for f in built.figures}
    reg = _series(figs["fig3a_regions"], "training")
    assert reg.x == ("SE", "DE", "PL", "CN", "US", "EU27")
    base = kg(train_kwh(SIZES[3][0], "small", 1), 1.0)
    assert reg.y == pytest.approx([base * g for g in (7, 366, 666, 582, 390, 251)])
    months = _series(figs["fig3b_months"], "synthesis")
    assert len(months.x) == 12 and months.x[-1] == "2022-12"


def test_partial_results_draw_placeholders(tmp_path: Path) -> None:
    write_results(tmp_path, [record(2, (32, 32)), record(2, (64, 64))])
    analysis = analyze(tmp_path)
    assert [s.name for s in analysis.image_size] == ["training 2D", "synthesis 2D"]
    assert analysis.regions  # regions need no extra scenario
    for make in (fig2_model_size, fig4a_processes, fig4b_steps):
        fig = make(analysis, tmp_path / "figures")
        assert fig.series == ()
        assert not fig.measured
        assert fig.png.stat().st_size > 1000  # a "not measured" panel, still a figure
        assert fig.pdf.is_file()
