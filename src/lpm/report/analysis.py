"""From study results to the numbers behind the figures and the claims table.

Each scenario's predicted IT energy (training target and synthesis target) is turned into
CO2e with lpm.carbon (Eq. 1: PUE × carbon intensity) for the study's base region, and
for every region and month of the spec. The paper's comparisons are slices of the grid:
one setting varies, the others are held at the study's reference values.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.report.results import ReportSpec, ResultsFile, read_results, read_spec
from lpm.report.scenarios import PHASES, Scenario, label, scenario_from_record, sort_key

SETTINGS = ("dims", "size", "model", "processes", "sampler", "steps")
#: The settings that change each phase's energy (sampling does not depend on how many
#: processes trained the model; training does not depend on the sampler).
PHASE_SETTINGS = {
    "training": ("dims", "size", "model", "processes"),
    "synthesis": ("dims", "size", "model", "sampler", "steps"),
}


@dataclass(frozen=True)
class PhaseFootprint:
    """CO2e of one phase of one scenario at one carbon intensity (Eq. 1)."""

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
    estimated: bool


@dataclass(frozen=True)
class ScenarioFootprint:
    """A scenario with the CO2e of its training and synthesis at the base region."""

    scenario: Scenario
    training: PhaseFootprint | None
    synthesis: PhaseFootprint | None

    def phase(self, phase: str) -> PhaseFootprint | None:
        return self.training if phase == "training" else self.synthesis


@dataclass(frozen=True)
class Series:
    """One plotted line or bar group: labels on x, CO2e mean ± std on y."""

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

    def __len__(self) -> int:
        return len(self.x)


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
    claims: tuple[Any, ...] = field(default=())

    @property
    def ok(self) -> tuple[ScenarioFootprint, ...]:
        return self.scenarios

    def hardware(self) -> list[dict[str, Any]]:
        """The distinct hardware contexts of the scenarios, in order of appearance."""
        seen: list[dict[str, Any]] = []
        for item in self.scenarios:
            if item.scenario.hardware and item.scenario.hardware not in seen:
                seen.append(item.scenario.hardware)
        return seen


class _Carbon:
    """Intensity look-ups through lpm.carbon, remembering every intensity used."""

    def __init__(self) -> None:
        from lpm.carbon import IntensityDatabase

        self.db = IntensityDatabase.default()
        self.used: dict[tuple[str, str, str, str], IntensityUsed] = {}

    def intensity(
        self,
        region: str,
        *,
        source: str | None = None,
        month: str | None = None,
        basis: str | None = None,
    ) -> Any:
        try:
            found = self.db.lookup(region, month=month, source=source, basis=basis)
        except LpmError:
            if source is None and basis is None:
                raise
            # The preferred source/basis has no value here: use the table's precedence.
            found = self.db.lookup(region, month=month)
        period = f"{found.year}-{found.month:02d}" if found.month else str(found.year)
        key = (found.region, found.source, found.basis, period)
        self.used.setdefault(
            key,
            IntensityUsed(
                found.region, found.name, found.g_per_kwh, found.source, found.basis, period
            ),
        )
        return found

    def phase(
        self, scenario: Scenario, phase: str, pue: float, intensity: Any
    ) -> PhaseFootprint | None:
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
        period = (
            f"{intensity.year}-{intensity.month:02d}" if intensity.month else str(intensity.year)
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
            intensity_period=period,
            estimated=energy.estimated,
        )


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
    fps = [item.phase(phase) for item in items]
    return Series(
        name=name,
        phase=phase,
        dims=dims,
        axis=vary,
        x=tuple(label(vary, item.scenario.value(vary)) for item in items),
        y=tuple(fp.co2e_kg for fp in fps if fp is not None),
        yerr=tuple(fp.co2e_kg_std for fp in fps if fp is not None),
        scenario_ids=tuple(item.scenario.scenario_id for item in items),
        values=tuple(item.scenario.value(vary) for item in items),
        fixed=_fixed_text(items, phase, vary),
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
        if item.scenario.phase(phase) is None:
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
            )
        )
    return tuple(out)


def _places(
    wanted: list[tuple[str, dict[str, Any], str]], carbon: _Carbon, notes: list[str]
) -> list[tuple[str, Any]]:
    """(label, intensity) for each region or month; one without data becomes a note."""
    places = []
    for name, keywords, region in wanted:
        try:
            places.append((name, carbon.intensity(region, **keywords)))
        except LpmError as exc:
            label = region if name == region else f"{region} {name}"
            notes.append(f"{label} left out: {exc}")
    return places


def analyze(study_dir: str | Path, *, results: ResultsFile | None = None) -> Analysis:
    """Read DIR/results.jsonl and DIR/spec.yaml and compute every comparison."""
    from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION
    from lpm.report.claims import compute_claims

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
    base_region = spec.base_region or DEFAULT_REGION
    items = []
    pues = []
    for s in ok:
        pue = s.pue or spec.pue or DEFAULT_PUE
        pues.append(pue)
        intensity = carbon.intensity(s.region or base_region, source=spec.region_source)
        items.append(
            ScenarioFootprint(
                scenario=s,
                training=carbon.phase(s, "training", pue, intensity),
                synthesis=carbon.phase(s, "synthesis", pue, intensity),
            )
        )
    scen = tuple(items)
    ref = _reference(ok, spec)
    notes: list[str] = []
    location = _location_scenario(scen, ref)
    regions: tuple[Series, ...] = ()
    months: tuple[Series, ...] = ()
    if location is not None:
        pue = location.scenario.pue or spec.pue or DEFAULT_PUE
        region_places = _places(
            [(r, {"source": spec.region_source}, r) for r in spec.regions], carbon, notes
        )
        regions = _location_series(location, carbon, pue, region_places, "region")
        month_places = _places(
            [
                (m, {"month": m, "basis": spec.months_basis}, spec.months_region)
                for m in spec.months
            ],
            carbon,
            notes,
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
    analysis = Analysis(
        study_dir=study_dir,
        spec=spec,
        results=results,
        scenarios=scen,
        failed=failed,
        reference=ref,
        base_region=base_region,
        pue_values=tuple(sorted(set(pues))),
        image_size=_dimension_series(scen, ref, "size", PHASES, min_points=1),
        model_size=_dimension_series(scen, ref, "model", PHASES),
        processes=_dimension_series(scen, ref, "processes", ("training",)),
        steps=_dimension_series(scen, ref, "steps", ("synthesis",)),
        regions=regions,
        months=months,
        location_scenario=location,
        intensities=tuple(carbon.used.values()),
        notes=tuple(notes),
    )
    return replace(analysis, claims=compute_claims(analysis))


def combined_std(*stds: float) -> float:
    """Standard deviation of a sum of independent terms."""
    return math.sqrt(sum(s * s for s in stds))
