"""The HTML report: self-contained, escaped, with claims, hardware and sources."""

from __future__ import annotations

import re

from tests.report.conftest import EVIL


def test_report_is_self_contained(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<img src="data:image/png;base64,') == 6
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
    for claim in built.analysis.claims:
        assert claim.verdict in html
    assert "94×" in html and "reduce synthesis emissions by 80 %" in html
    assert "Test CPU" in html
    for source_id in ("paper2024", "eea_cars", "epa_equiv", "myclimate", "electricitymaps_hourly"):
        assert f"<td>{source_id}</td>" in html, source_id
    assert "car_g_per_km" in html and "108.2" in html
    assert "PUE (paper_default, 2022)" in html
    assert "What was measured and what estimated" in html
