"""Joules per kWh is defined once, in lpm.units; lpm.energy.results keeps the old name."""

from __future__ import annotations

from pathlib import Path

import lpm
import lpm.energy.results as results
import lpm.units as units


def test_energy_results_re_exports_the_one_constant() -> None:
    assert results.J_PER_KWH is units.J_PER_KWH
    assert units.J_PER_KWH == 3600 * 1000


def test_no_other_module_writes_the_number() -> None:
    src = Path(lpm.__file__).parent
    found = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if p.name != "units.py" and "3.6e6" in p.read_text(encoding="utf-8")
    ]
    assert found == []
