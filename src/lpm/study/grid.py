"""The scenario grid of a study and the measurement jobs that cover it.

A scenario is one point of the grid (dims, size, model, processes, sampler, steps). A Job
is one (dims, size, model, processes, sampler) setting: one training run, and one sampling
run per step count it covers (each step count is measured at itself, so a comparison of
step counts compares measurements). It yields one result record per scenario.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from lpm.sizes import Size, size_id
from lpm.study.spec import StudySpec


@dataclass(frozen=True)
class Scenario:
    """One point of the study grid."""

    dims: int
    size: Size
    model: str
    processes: int
    sampler: str
    steps: int

    @property
    def scenario_id(self) -> str:
        """A stable id such as ``3d-64-small-p1-ddim-200``."""
        return (
            f"{self.dims}d-{size_id(self.size)}-{self.model}-p{self.processes}"
            f"-{self.sampler}-{self.steps}"
        )

    def to_dict(self) -> dict:
        return {
            "scenario_id": self.scenario_id,
            "dims": self.dims,
            "size": list(self.size),
            "model": self.model,
            "processes": self.processes,
            "sampler": self.sampler,
            "steps": self.steps,
        }


@dataclass(frozen=True)
class Job:
    """One measurement: a training run, and a sampling run per step count it covers."""

    dims: int
    size: Size
    model: str
    processes: int
    sampler: str
    steps: tuple[int, ...]

    @property
    def job_id(self) -> str:
        return f"{self.dims}d-{size_id(self.size)}-{self.model}-p{self.processes}-{self.sampler}"

    @property
    def scenarios(self) -> list[Scenario]:
        return [
            Scenario(self.dims, self.size, self.model, self.processes, self.sampler, s)
            for s in self.steps
        ]

    @property
    def scenario_ids(self) -> list[str]:
        return [s.scenario_id for s in self.scenarios]


def scenarios(spec: StudySpec) -> list[Scenario]:
    """The study's scenarios, in a stable order, without duplicates.

    ``one_factor`` varies one dimension at a time around the base scenario (image size;
    model size at ``model_size_image``; processes; steps), per dims. ``full`` is the
    cartesian product of every list.
    """
    out: dict[str, Scenario] = {}

    def add(dims: int, size: Size, model: str, processes: int, steps: int) -> None:
        sc = Scenario(dims, size, model, processes, spec.sampler, steps)
        out.setdefault(sc.scenario_id, sc)

    for dims in spec.dims:
        if spec.design == "full":
            for size, model, procs, steps in itertools.product(
                spec.sizes_for(dims), spec.model_sizes, spec.processes, spec.steps
            ):
                add(dims, size, model, procs, steps)
            continue
        size0, model0 = spec.base_size(dims), spec.base_model()
        procs0, steps0 = spec.base_processes(), spec.base_steps()
        for size in spec.sizes_for(dims):
            add(dims, size, model0, procs0, steps0)
        add(dims, size0, model0, procs0, steps0)
        for model in spec.model_sizes:
            add(dims, spec.model_size_at(dims), model, procs0, steps0)
        for procs in spec.processes:
            add(dims, size0, model0, procs, steps0)
        for steps in spec.steps:
            add(dims, size0, model0, procs0, steps)
    return list(out.values())


def jobs(spec: StudySpec) -> list[Job]:
    """Group the scenarios into measurement jobs (one per setting, all its step counts)."""
    grouped: dict[tuple, list[int]] = {}
    for sc in scenarios(spec):
        key = (sc.dims, sc.size, sc.model, sc.processes, sc.sampler)
        grouped.setdefault(key, []).append(sc.steps)
    return [Job(*key, steps=tuple(steps)) for key, steps in grouped.items()]
