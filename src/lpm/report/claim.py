"""A claim of the paper next to this run: the :class:`Claim` type, what it rests on
(:class:`Basis`), its verdict words and the words for the provenance of its energies.

Shared by :mod:`lpm.report.claims` (the paper's claims from the study's scenarios) and
:mod:`lpm.report.claims_tradeoff` (the claims the energy–quality sweep can test).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lpm.provenance import Provenance

AGREES = "agrees"
DIFFERS = "differs"
NOT_MEASURED = "not measured"
FROM_TABLES = "from tables"
BY_CONSTRUCTION = "by construction"
BACKTESTED = "backtested"
NO_BACKTEST = "no backtest on record"
#: The verdicts that judge the paper against this run (only a measured claim has one).
JUDGEMENTS = (AGREES, DIFFERS)


class Basis(StrEnum):
    """What a claim rests on."""

    MEASURED = "measured"
    """This study's measurements (the claim can agree or differ)."""
    TABLES = "tables"
    """The packaged carbon-intensity tables only (holds whatever was measured)."""
    MODEL = "model"
    """A model or assumption, e.g. the prediction rule (holds by construction)."""


BASIS_TITLES = {
    Basis.MEASURED: "Measured on this run",
    Basis.TABLES: "From the packaged tables",
    Basis.MODEL: "From a model",
}
BASIS_ORDER = (Basis.MEASURED, Basis.TABLES, Basis.MODEL)


@dataclass(frozen=True)
class Claim:
    """One of the paper's claims and what this run found.

    ``provenance`` is that of the energies the claim's numbers rest on (None when none
    does, e.g. a ratio of two intensities); ``rests_on`` says it in words.
    """

    key: str
    topic: str
    section: str
    paper: str
    run: str
    value: float | None
    verdict: str
    rule: str
    why: str
    basis: Basis = Basis.MEASURED
    provenance: Provenance | None = None
    rests_on: str = ""

    def __post_init__(self) -> None:
        if self.basis is not Basis.MEASURED and self.verdict in JUDGEMENTS:
            raise ValueError(
                f"claim {self.key!r} rests on {self.basis.value} and cannot {self.verdict!r}"
            )

    @property
    def judged(self) -> bool:
        """True when the verdict compares this run with the paper (agrees or differs)."""
        return self.verdict in JUDGEMENTS

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "topic": self.topic,
            "section": self.section,
            "basis": self.basis.value,
            "paper": self.paper,
            "run": self.run,
            "value": self.value,
            "verdict": self.verdict,
            "rule": self.rule,
            "why": self.why,
            "provenance": self.provenance.value if self.provenance else None,
            "rests_on": self.rests_on,
        }


PROVENANCE_WORDS = {
    Provenance.MEASURED: "hardware energy counters (NVML, RAPL)",
    Provenance.ESTIMATED: "no energy counter: CPU time × TDP, memory × W per GB",
    Provenance.SIMULATED: "fixed watts set by the user (--simulate-*), not this machine",
    Provenance.MIXED: "some parts measured, others estimated or simulated",
}


def provenance_text(provenances: Iterable[Provenance]) -> str:
    """'estimated' for one kind, else 'mixed: 2 measured, 1 estimated'."""
    counts = Counter(Provenance.parse(p) for p in provenances)
    if not counts:
        return "no energy"
    if len(counts) == 1:
        return next(iter(counts)).value
    return "mixed: " + ", ".join(f"{n} {p.value}" for p, n in counts.most_common())


def hardware_text(hardware: dict[str, Any]) -> str:
    """A short description of a hardware context from its CPU and GPU fields.

    Reads the fields lpm writes (``cpu_model``/``cpu``, ``gpu_names``/``gpus``) by name;
    it never searches keys or device names for words.
    """
    cpu = hardware.get("cpu_model") or hardware.get("cpu")
    gpus = hardware.get("gpu_names", hardware.get("gpus"))
    parts = []
    if isinstance(gpus, list | tuple):
        parts.append(f"gpus: {', '.join(map(str, gpus))}" if gpus else "no GPU")
    elif gpus:
        parts.append(f"gpus: {gpus}")
    if cpu:
        parts.append(f"cpu: {cpu}")
    return "; ".join(parts) if parts else "unknown hardware"


def kg_text(value: float) -> str:
    """Kilograms with a unit prefix: 1.23 kg, 45.6 g, 789 mg."""
    if value == 0:
        return "0 kg"
    if abs(value) >= 1:
        return f"{value:,.3g} kg"
    if abs(value) >= 1e-3:
        return f"{value * 1e3:,.3g} g"
    return f"{value * 1e6:,.3g} mg"


def j_text(value: float) -> str:
    """Joules with a unit prefix: 12.3 J, 4.56 kJ, 789 mJ."""
    for factor, unit in ((1e6, "MJ"), (1e3, "kJ"), (1.0, "J"), (1e-3, "mJ")):
        if abs(value) >= factor:
            return f"{value / factor:,.3g} {unit}"
    return f"{value * 1e6:,.3g} µJ" if value else "0 J"
