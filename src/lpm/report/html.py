"""HTML primitives of the report's sections: escaping, numbers, tables, provenance marks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from lpm.provenance import Provenance


def esc(value: Any) -> str:
    """Escape any value for HTML text and attributes."""
    return escape(str(value), quote=True)


def num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 10 ** (digits + 2) or abs(value) < 10 ** -(digits + 1):
        return f"{value:.{digits - 1}e}"
    return f"{value:,.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}g}"


def pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "–"
    return f"{num(mean)} ± {num(std or 0.0, 2)}"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], num_cols: set[int]) -> str:
    """A table; cells are already-escaped HTML fragments."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
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


PROVENANCE_MARKS = {
    Provenance.MEASURED: "M",
    Provenance.ESTIMATED: "E",
    Provenance.SIMULATED: "S",
    Provenance.MIXED: "X",
}


def prov_mark(provenance: Provenance | None) -> str:
    """The provenance marker of a cell (empty when the cell holds no energy)."""
    if provenance is None:
        return ""
    p = Provenance.parse(provenance)
    return f'<sup class="prov prov-{p.value}" title="{esc(p.value)}">{PROVENANCE_MARKS[p]}</sup>'
