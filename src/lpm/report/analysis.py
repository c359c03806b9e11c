"""From study results to the numbers behind the figures and the tables.

Each scenario's CO2e at its own region is the footprint the study stored with each
prediction (Eq. 1 with the run's PUE and intensity); the report recomputes nothing with
defaults. The paper's comparisons are slices of the grid: one setting varies, the others
are held at the study's reference values, and only footprints computed at one intensity
(region, source, basis, period) and one PUE are compared. Regions and months place one
scenario's stored energy at other intensities, looked up in lpm.carbon's tables; a region
or month without data for the requested source or basis is left out with a visible note,
never replaced by another source, and one comparison is always on one basis.

The claims (:mod:`lpm.report.claims`) are computed from an :class:`Analysis`; this module
does not know them. Over 400 lines because it holds one thing: the comparisons of one
study (the :class:`Analysis` and the series it is made of).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.report.results import ReportSpec, ResultsFile, read_results, read_spec
from lpm.report.scenarios import (
    PHASES,
    Scenario,
    StoredFootprint,
    label,
    scenario_from_record,
    sort_key,
)
from lpm.report.sources import Backtest, read_backtest
from lpm.report.tradeoff import TradeoffAnalysis, analyze_tradeoff
from lpm.results import QualityRecord, read_quality_record

SETTINGS = ("dims", "size", "model", "processes", "sampler", "steps")
#: The settings that change each phase's energy (sampling does not depend on how many
#: processes trained the model; training does not depend on the sampler).
PHASE_SETTINGS = {
    "training": ("dims", "size", "model", "processes"),
    "synthesis": ("dims", "size", "model", "sampler", "steps"),
}


@dataclass(frozen=True)
class PhaseFootprint:
    """CO2e of one phase of one scenario at one carbon intensity (Eq. 1).

    ``stored`` is True when the values are the footprint the study stored with its
    prediction, False when the report applied Eq. 1 (other regions and months).
    """

    scenario_id: str
    phase: str
    it_energy_kwh: float
    it_energy_kwh_std: float
    pue: float
    facility_energy_kwh: float
    co2e_kg: float
    co2e_kg_std: float
    region: str
    intensity_g_per_kwh: float
    intensity_source: str
    intensity_basis: str
    intensity_period: str
    provenance: Provenance
    stored: bool = False

    @property
    def estimated(self) -> bool:
        return self.provenance.is_estimated

    @property
    def intensity_key(self) -> tuple[str, str, str, str, float]:
        """Footprints with one key (region, source, basis, period, PUE) are comparable."""
        return (
            self.region,
            self.intensity_source,
            self.intensity_basis,
            self.intensity_period,
            self.pue,
        )


@dataclass(frozen=True)
class ScenarioFootprint:
    """A scenario with the CO2e of its training and synthesis at its region."""

    scenario: Scenario
    training: PhaseFootprint | None
    synthesis: PhaseFootprint | None

    def phase(self, phase: str) -> PhaseFootprint | None:
        return self.training if phase == "training" else self.synthesis


@dataclass(frozen=True)
class Series:
    """One plotted line or bar group: labels on x, CO2e mean ± std on y.

    ``provenances`` holds each point's energy provenance, ``basis`` the one intensity
    basis of the whole series.
    """

    name: str
    phase: str
    dims: int | None
    axis: str
    x: tuple[str, ...]
    y: tuple[float, ...]
    yerr: tuple[float, ...]
    scenario_ids: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()
    fixed: str = ""
    provenances: tuple[Provenance, ...] = ()
    basis: str = ""

    def __len__(self) -> int:
        return len(self.x)

    @property
    def provenance(self) -> Provenance:
        """The provenance of the series' energies (MIXED when the points differ)."""
        return Provenance.combine(self.provenances)


@dataclass(frozen=True)
class IntensityUsed:
    """A carbon intensity the report used, with its source id."""

    region: str
    name: str
    g_per_kwh: float
    source: str
    basis: str
    period: str


@dataclass(frozen=True)
class Analysis:
    """Everything the figures and the report show, computed from one study directory."""

    study_dir: Path
    spec: ReportSpec
    results: ResultsFile
    scenarios: tuple[ScenarioFootprint, ...]
    failed: tuple[Scenario, ...]
    reference: dict[str, Any]
    base_region: str
    pue_values: tuple[float, ...]
    image_size: tuple[Series, ...]
    model_size: tuple[Series, ...]
    processes: tuple[Series, ...]
    steps: tuple[Series, ...]
    regions: tuple[Series, ...]
    months: tuple[Series, ...]
    location_scenario: ScenarioFootprint | None
    intensities: tuple[IntensityUsed, ...]
    notes: tuple[str, ...] = ()
    base: PhaseFootprint | None = None
    backtest: Backtest | None = None
    quality: QualityRecord | None = None
    tradeoff: TradeoffAnalysis | None = None

    @property
    def ok(self) -> tuple[ScenarioFootprint, ...]:
        return self.scenarios

    def scenario(self, scenario_id: str) -> Scenario | None:
        """The scenario with this id (None if it has no result)."""
        return next(
            (i.scenario for i in self.scenarios if i.scenario.scenario_id == scenario_id), None
        )

    def provenance(self) -> Provenance:
        """The provenance of every scenario's energy together."""
        return Provenance.combine(i.scenario.provenance for i in self.scenarios)

    def hardware(self) -> list[dict[str, Any]]:
        """The distinct machines of the scenarios (one context each), in order of appearance."""
        return [context for context, _ in self.machines()]

    def machines(self) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
        """Each distinct machine's first context and the scenarios measured on it.

        Two contexts are one machine when the fields that describe the machine
        (:data:`MACHINE_KEYS`) agree; per-process fields (pid, meter scopes) may differ.
        """
        groups: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for item in self.scenarios:
            hw = item.scenario.hardware
            if not hw:
                continue
            known = {k: hw[k] for k in MACHINE_KEYS if k in hw}
            key = json.dumps(known or hw, sort_keys=True, default=str)
            groups.setdefault(key, (hw, []))[1].append(item.scenario.scenario_id)
        return [(hw, tuple(ids)) for hw, ids in groups.values()]


#: The fields of a hardware context (lpm.energy.collect_context, or the study's short form)
#: that identify a machine; the others (pid, meter scopes) belong to one process.
MACHINE_KEYS = (
    "host",
    "os",
    "platform",
    "cpu_model",
    "cpu",
    "cpu_count_logical",
    "cpu_count_physical",
    "cpu_count",
    "ram_total_gb",
    "gpu_names",
    "gpus",
    "gpu_driver",
    "torch_version",
    "torch",
    "lpm_version",
)


def _period(intensity: Any) -> str:
    return f"{intensity.year}-{intensity.month:02d}" if intensity.month else str(intensity.year)


class _Carbon:
    """Intensity look-ups through lpm.carbon, remembering every intensity used.

    A look-up asks for exactly the source and basis given; when the tables have no such
    value it raises (the caller turns it into a note), it never falls back to another.
    """

    def __init__(self) -> None:
        from lpm.carbon import IntensityDatabase

        self.db = IntensityDatabase.default()
        self.used: dict[tuple[str, str, str, str], IntensityUsed] = {}

    def remember(self, used: IntensityUsed) -> None:
        self.used.setdefault((used.region, used.source, used.basis, used.period), used)

    def intensity(
        self,
        region: str,
        *,
        source: str | None = None,
        month: str | None = None,
        basis: str | None = None,
    ) -> Any:
        found = self.db.lookup(region, month=month, source=source, basis=basis)
        self.remember_intensity(found)
        return found

    def remember_intensity(self, found: Any) -> None:
        self.remember(
            IntensityUsed(
                found.region, found.name, found.g_per_kwh, found.source, found.basis, _period(found)
            )
        )

    def phase(
        self, scenario: Scenario, phase: str, pue: float, intensity: Any
    ) -> PhaseFootprint | None:
        """Eq. 1 for one phase's stored IT energy at another intensity."""
        from lpm.carbon import footprint

        energy = scenario.phase(phase)
        if energy is None:
            return None
        fp = footprint(
            energy.it_energy_kwh,
            it_energy_kwh_std=energy.it_energy_kwh_std,
            pue=pue,
            intensity=intensity,
        )
        return PhaseFootprint(
            scenario_id=scenario.scenario_id,
            phase=phase,
            it_energy_kwh=fp.it_energy_kwh,
            it_energy_kwh_std=fp.it_energy_kwh_std,
            pue=fp.pue,
            facility_energy_kwh=fp.facility_energy_kwh,
            co2e_kg=fp.co2e_kg,
            co2e_kg_std=fp.co2e_kg_std,
            region=intensity.region,
            intensity_g_per_kwh=intensity.g_per_kwh,
            intensity_source=intensity.source,
            intensity_basis=intensity.basis,
            intensity_period=_period(intensity),
            provenance=energy.provenance,
        )


def _from_stored(
    scenario: Scenario, phase: str, stored: StoredFootprint, carbon: _Carbon
) -> PhaseFootprint:
    """The footprint the study stored with a prediction, as the report's value."""
    energy = scenario.phase(phase)
    assert energy is not None
    carbon.remember(
        IntensityUsed(
            stored.region,
            stored.region_name,
            stored.intensity_g_per_kwh,
            stored.intensity_source,
            stored.basis,
            stored.period,
        )
    )
    return PhaseFootprint(
        scenario_id=scenario.scenario_id,
        phase=phase,
        it_energy_kwh=stored.it_energy_kwh,
        it_energy_kwh_std=stored.it_energy_kwh_std,
        pue=stored.pue,
        facility_energy_kwh=stored.facility_energy_kwh,
        co2e_kg=stored.co2e_kg,
        co2e_kg_std=stored.co2e_kg_std,
        region=stored.region,
        intensity_g_per_kwh=stored.intensity_g_per_kwh,
        intensity_source=stored.intensity_source,
        intensity_basis=stored.basis,
        intensity_period=stored.period,
        provenance=energy.provenance,
        stored=True,
    )


def _own_footprint(scenario: Scenario, phase: str, carbon: _Carbon, notes: list[str]) -> Any:
    """A phase's stored footprint; without one, Eq. 1 with the record's own PUE and region."""
    energy = scenario.phase(phase)
    if energy is None:
        return None
    if energy.footprint is not None:
        return _from_stored(scenario, phase, energy.footprint, carbon)
    where = f"{scenario.scenario_id} {phase}"
    if scenario.pue is None or scenario.region is None:
        notes.append(f"{where}: the record stores no footprint, PUE or region; no CO2e shown")
        return None
    try:
        intensity = carbon.intensity(scenario.region, source=scenario.intensity_source)
    except LpmError as exc:
        notes.append(f"{where}: no CO2e shown, the record's intensity has no data: {exc}")
        return None
    notes.append(
        f"{where}: the record stores no footprint; CO2e computed by the report with the "
        f"record's PUE {scenario.pue:g} and {intensity.describe()}"
    )
    return carbon.phase(scenario, phase, scenario.pue, intensity)


def _comparable(
    items: list[ScenarioFootprint], notes: list[str]
) -> tuple[tuple[ScenarioFootprint, ...], PhaseFootprint | None]:
    """The items with only the footprints at the study's one intensity and PUE.

    The most common (region, source, basis, period, PUE) is the base; a footprint at
    another one stays in the scenarios table but is left out of every comparison.
    """
    fps = [fp for i in items for fp in (i.training, i.synthesis) if fp is not None]
    if not fps:
        return tuple(items), None
    counts = Counter(fp.intensity_key for fp in fps)
    base_key = counts.most_common(1)[0][0]
    base = next(fp for fp in fps if fp.intensity_key == base_key)
    out = []
    for item in items:
        kept = {}
        for phase in PHASES:
            fp = item.phase(phase)
            if fp is not None and fp.intensity_key != base_key:
                notes.append(
                    f"{item.scenario.scenario_id} {phase}: its CO2e is at {fp.region} "
                    f"{fp.intensity_period} ({fp.intensity_source}, {fp.intensity_basis}, "
                    f"PUE {fp.pue:g}), not at the study's {base.region} "
                    f"{base.intensity_period} ({base.intensity_source}, "
                    f"{base.intensity_basis}, PUE {base.pue:g}); it is left out of the "
                    "comparisons"
                )
                fp = None
            kept[phase] = fp
        out.append(ScenarioFootprint(item.scenario, kept["training"], kept["synthesis"]))
    return tuple(out), base


def _reference(scenarios: list[Scenario], spec: ReportSpec) -> dict[str, Any]:
    """The settings held fixed while another one varies: the spec's base, else the mode."""
    ref: dict[str, Any] = {}
    for name in SETTINGS:
        counts = Counter(s.value(name) for s in scenarios)
        if counts:
            ref[name] = counts.most_common(1)[0][0]
    for name in ("model", "processes", "steps"):
        if spec.base.get(name) is not None:
            ref[name] = spec.base[name]
    if "steps" not in spec.base and isinstance(spec.targets.get("steps"), int):
        steps = {s.steps for s in scenarios}
        if spec.targets["steps"] in steps:
            ref["steps"] = spec.targets["steps"]
    return ref


def _closeness(scenario: Scenario, ref: dict[str, Any]) -> int:
    return sum(scenario.value(n) == ref.get(n) for n in SETTINGS)


def _slice(
    items: tuple[ScenarioFootprint, ...],
    phase: str,
    vary: str,
    ref: dict[str, Any],
    where: dict[str, Any],
) -> list[ScenarioFootprint]:
    """Scenarios along one setting, the others fixed: the group with the most values."""
    others = [n for n in PHASE_SETTINGS[phase] if n != vary and n not in where]
    groups: dict[tuple, dict[Any, ScenarioFootprint]] = {}
    for item in items:
        s = item.scenario
        if item.phase(phase) is None or any(s.value(k) != v for k, v in where.items()):
            continue
        key = tuple(repr(s.value(n)) for n in others)
        bucket = groups.setdefault(key, {})
        value = s.value(vary)
        old = bucket.get(value)
        if old is None or _closeness(s, ref) > _closeness(old.scenario, ref):
            bucket[value] = item
    if not groups:
        return []

    def rank(key: tuple) -> tuple:
        bucket = groups[key]
        match = sum(k == repr(ref.get(n)) for k, n in zip(key, others, strict=True))
        return (-len(bucket), -match, key)

    best = groups[min(groups, key=rank)]
    return [best[v] for v in sorted(best, key=lambda v: sort_key(vary, v))]


def _fixed_text(items: list[ScenarioFootprint], phase: str, vary: str) -> str:
    if not items:
        return ""
    s = items[0].scenario
    parts = []
    for name in PHASE_SETTINGS[phase]:
        if name in (vary, "dims"):
            continue
        value = s.value(name)
        parts.append(
            f"{label(name, value)} steps"
            if name == "steps"
            else f"{value} process{'es' if value != 1 else ''}"
            if name == "processes"
            else label(name, value)
        )
    return ", ".join(parts)


def _series(
    items: list[ScenarioFootprint], phase: str, vary: str, name: str, dims: int | None
) -> Series:
    fps = [fp for fp in (item.phase(phase) for item in items) if fp is not None]
    return Series(
        name=name,
        phase=phase,
        dims=dims,
        axis=vary,
        x=tuple(label(vary, item.scenario.value(vary)) for item in items),
        y=tuple(fp.co2e_kg for fp in fps),
        yerr=tuple(fp.co2e_kg_std for fp in fps),
        scenario_ids=tuple(item.scenario.scenario_id for item in items),
        values=tuple(item.scenario.value(vary) for item in items),
        fixed=_fixed_text(items, phase, vary),
        provenances=tuple(fp.provenance for fp in fps),
        basis=fps[0].intensity_basis if fps else "",
    )


def _dimension_series(
    items: tuple[ScenarioFootprint, ...],
    ref: dict[str, Any],
    vary: str,
    phases: tuple[str, ...],
    min_points: int = 2,
) -> tuple[Series, ...]:
    """One series per phase and 2D/3D along ``vary`` (a comparison needs ``min_points``)."""
    out = []
    for phase in phases:
        for dims in sorted({i.scenario.dims for i in items}):
            sliced = _slice(items, phase, vary, ref, {"dims": dims})
            if len(sliced) >= min_points:
                out.append(_series(sliced, phase, vary, f"{phase} {dims}D", dims))
    return tuple(out)


def _location_scenario(
    items: tuple[ScenarioFootprint, ...], ref: dict[str, Any]
) -> ScenarioFootprint | None:
    """The scenario whose energy Figs. 3a/3b place in other regions and months (3D first)."""
    both = [i for i in items if i.training is not None and i.synthesis is not None]
    pool = both or [i for i in items if i.training is not None or i.synthesis is not None]
    if not pool:
        return None
    return max(pool, key=lambda i: (i.scenario.dims == 3, _closeness(i.scenario, ref)))


def _location_series(
    item: ScenarioFootprint,
    carbon: _Carbon,
    pue: float,
    places: list[tuple[str, Any]],
    axis: str,
) -> tuple[Series, ...]:
    out = []
    for phase in PHASES:
        energy = item.scenario.phase(phase)
        if energy is None or not places:
            continue
        fps = [carbon.phase(item.scenario, phase, pue, intensity) for _, intensity in places]
        out.append(
            Series(
                name=phase,
                phase=phase,
                dims=item.scenario.dims,
                axis=axis,
                x=tuple(name for name, _ in places),
                y=tuple(fp.co2e_kg for fp in fps if fp is not None),
                yerr=tuple(fp.co2e_kg_std for fp in fps if fp is not None),
                scenario_ids=(item.scenario.scenario_id,),
                values=tuple(intensity.g_per_kwh for _, intensity in places),
                fixed=f"{item.scenario.size_label}, {item.scenario.model}",
                provenances=tuple(energy.provenance for _ in places),
                basis=places[0][1].basis,
            )
        )
    return tuple(out)


BASIS_ORDER = ("lifecycle", "direct")


def _places(
    wanted: list[tuple[str, dict[str, Any], str]],
    carbon: _Carbon,
    notes: list[str],
    *,
    basis: str | None,
    what: str,
) -> list[tuple[str, Any]]:
    """(label, intensity) for each region or month, all on one basis.

    Each place is looked up with exactly the source and ``basis`` asked for; one without
    such data is left out with a note. When no basis was asked for and the tables' usual
    values have different bases, the basis most places have is used for all of them
    (stated in a note), so a comparison never mixes direct and lifecycle values.
    """

    def look(keywords: dict[str, Any], region: str, b: str | None) -> Any:
        return carbon.db.lookup(region, basis=b, **keywords)

    found: list[tuple[str, dict[str, Any], str, Any]] = []
    for name, keywords, region in wanted:
        try:
            found.append((name, keywords, region, look(keywords, region, basis)))
        except LpmError as exc:
            where = region if name == region else f"{region} {name}"
            notes.append(f"{where} left out: {exc}")
    bases = Counter(i.basis for *_, i in found)
    if basis is None and len(bases) > 1:
        common = max(bases, key=lambda b: (bases[b], -BASIS_ORDER.index(b)))
        notes.append(
            f"{what}: the tables' usual values mix bases ({', '.join(sorted(bases))}); "
            f"all are compared on the {common} basis (one basis per comparison)"
        )
        again = []
        for name, keywords, region, intensity in found:
            if intensity.basis == common:
                again.append((name, keywords, region, intensity))
                continue
            try:
                again.append((name, keywords, region, look(keywords, region, common)))
            except LpmError as exc:
                where = region if name == region else f"{region} {name}"
                notes.append(f"{where} left out: no {common} value ({exc})")
        found = again
    for *_, intensity in found:
        carbon.remember_intensity(intensity)
    return [(name, intensity) for name, _, _, intensity in found]


def _location_pue(item: ScenarioFootprint, spec: ReportSpec, notes: list[str]) -> float:
    """The PUE the location scenario's CO2e was stored with (else its record's, else spec's)."""
    from lpm.carbon import DEFAULT_PUE

    stored = item.training or item.synthesis
    if stored is not None:
        return stored.pue
    pue = item.scenario.pue or spec.pue
    if pue is None:
        notes.append(
            f"{item.scenario.scenario_id} has no PUE in its record or the spec; regions and "
            f"months use lpm's default PUE {DEFAULT_PUE:g}"
        )
        return DEFAULT_PUE
    return pue


def analyze(
    study_dir: str | Path,
    *,
    results: ResultsFile | None = None,
    backtest_path: str | Path | None = None,
) -> Analysis:
    """Read DIR/results.jsonl and DIR/spec.yaml and compute every comparison.

    ``backtest_path`` replaces the packaged prediction backtest (tests, other machines).
    """
    from lpm.carbon import DEFAULT_REGION

    study_dir = Path(study_dir)
    if not study_dir.is_dir():
        raise LpmError(f"{study_dir} is not a directory; pass the --out directory of a study")
    results = results or read_results(study_dir)
    spec = read_spec(study_dir)
    parsed = [scenario_from_record(r) for r in results.records]
    ok = [s for s in parsed if s.ok and (s.training is not None or s.synthesis is not None)]
    failed = tuple(s for s in parsed if s not in ok)
    if not ok:
        raise LpmError(
            f"{results.path} has no finished scenario with a prediction "
            f"({len(parsed)} records, {len(failed)} failed); run or resume the study first"
        )
    carbon = _Carbon()
    notes: list[str] = []
    own = [
        ScenarioFootprint(
            scenario=s,
            training=_own_footprint(s, "training", carbon, notes),
            synthesis=_own_footprint(s, "synthesis", carbon, notes),
        )
        for s in ok
    ]
    scen = tuple(own)
    comparable, base = _comparable(own, notes)
    base_region = base.region if base else spec.base_region or DEFAULT_REGION
    ref = _reference(ok, spec)
    location = _location_scenario(comparable, ref)
    regions: tuple[Series, ...] = ()
    months: tuple[Series, ...] = ()
    if location is not None:
        pue = _location_pue(location, spec, notes)
        region_places = _places(
            [(r, {"source": spec.region_source}, r) for r in spec.regions],
            carbon,
            notes,
            basis=None,
            what="regions",
        )
        regions = _location_series(location, carbon, pue, region_places, "region")
        month_places = _places(
            [(m, {"month": m}, spec.months_region) for m in spec.months],
            carbon,
            notes,
            basis=spec.months_basis,
            what="months",
        )
        months = _location_series(location, carbon, pue, month_places, "month")
    if results.skipped_lines:
        notes.append(
            f"{len(results.skipped_lines)} line(s) of results.jsonl held no complete record "
            "and were skipped: "
            + ", ".join(f"line {s.line_number} ({s.reason})" for s in results.skipped_lines)
        )
    if results.duplicates:
        notes.append(
            f"{results.duplicates} scenario record(s) were repeated; the last one of each is used"
        )
    if not spec.from_file:
        notes.append(
            "no spec.yaml in the study directory: regions are Table 1 of the paper "
            "(paper2024) and months are Germany 2022"
        )
    try:
        backtest = read_backtest(backtest_path)
    except LpmError as exc:
        backtest = None
        notes.append(f"the prediction backtest could not be read: {exc}")
    if backtest is None:
        notes.append(
            "no backtest on record: the predictions' ± is their measured spread only; how "
            "far such predictions fall from a long run's total is not known here "
            "(bench/prediction_backtest.py measures it)"
        )
    try:
        quality = read_quality_record(study_dir)
    except LpmError as exc:
        quality = None
        notes.append(f"the quality record could not be read: {exc}")
    try:
        tradeoff = analyze_tradeoff(study_dir, quality=quality, stage=spec.raw.get("tradeoff"))
    except LpmError as exc:
        tradeoff = None
        notes.append(f"the energy–quality sweep could not be read: {exc}")
    notes += tradeoff.notes if tradeoff else ()
    pues = {fp.pue for i in scen for fp in (i.training, i.synthesis) if fp is not None}
    return Analysis(
        study_dir=study_dir,
        spec=spec,
        results=results,
        scenarios=scen,
        failed=failed,
        reference=ref,
        base_region=base_region,
        pue_values=tuple(sorted(pues)),
        image_size=_dimension_series(comparable, ref, "size", PHASES, min_points=1),
        model_size=_dimension_series(comparable, ref, "model", PHASES),
        processes=_dimension_series(comparable, ref, "processes", ("training",)),
        steps=_dimension_series(comparable, ref, "steps", ("synthesis",)),
        regions=regions,
        months=months,
        location_scenario=location,
        intensities=tuple(carbon.used.values()),
        notes=tuple(notes),
        base=base,
        backtest=backtest,
        quality=quality,
        tradeoff=tradeoff,
    )
