"""torch.distributed helpers; torch is only touched when the caller already imported it.

Each rank measures its own GPUs; CPU and DRAM of a host are measured once, by the lowest
rank on that host, for the process trees of every rank on it. At the end the per-rank
energies are all-gathered and merged on rank 0 by device id, so a device that several ranks
see is counted once and no device is missing. Works with gloo (CPU) and NCCL.
:func:`job_components` adds up the records of a job's ranks or Slurm tasks afterwards.
"""

from __future__ import annotations

import math
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lpm.errors import LpmError
from lpm.provenance import Provenance

if TYPE_CHECKING:
    from lpm.energy.accounting import Accounts, StepGroup, WindowAgg
    from lpm.energy.reading import MeterBase
    from lpm.energy.results import ComponentEnergy, RunSummary, StepStats, WindowStats


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job."""

    rank: int
    world_size: int
    host: str
    host_leader: bool
    local_pids: tuple[int, ...] = field(default=())
    run_id: str = ""
    backend: str = ""


def _dist() -> Any | None:
    """torch.distributed when torch is imported and a process group is up, else None."""
    if "torch" not in sys.modules:
        return None
    try:
        import torch.distributed as dist
    except Exception:
        return None
    try:
        if dist.is_available() and dist.is_initialized():
            return dist
    except Exception:
        return None
    return None


def active() -> bool:
    """Whether a torch.distributed process group is up in this process."""
    return _dist() is not None


def setup(run_id: str) -> DistInfo | None:
    """Share hosts, pids and rank 0's run id; None when not distributed (a collective)."""
    dist = _dist()
    if dist is None:
        return None
    rank, world = dist.get_rank(), dist.get_world_size()
    host = socket.gethostname()
    mine = {"rank": rank, "host": host, "pid": os.getpid(), "run_id": run_id}
    everyone: list[Any] = [None] * world
    dist.all_gather_object(everyone, mine)
    same_host = [e for e in everyone if e["host"] == host]
    leader = min(e["rank"] for e in same_host) == rank
    try:
        backend = str(dist.get_backend())
    except Exception:
        backend = ""
    return DistInfo(
        rank=rank,
        world_size=world,
        host=host,
        host_leader=leader,
        local_pids=tuple(e["pid"] for e in same_host),
        run_id=everyone[0]["run_id"],
        backend=backend,
    )


def join(run_id: str, mode: bool | None) -> DistInfo | None:
    """:func:`setup` when ``mode`` is True, or None with a process group up (a collective)."""
    use = active() if mode is None else mode
    return setup(run_id) if use else None


def context(info: DistInfo) -> dict:
    """The run context's ``distributed`` entry (``ranks`` is added after the merge)."""
    return {
        "rank": info.rank,
        "world_size": info.world_size,
        "backend": info.backend,
        "host_leader": info.host_leader,
    }


def gather(payload: Any) -> list[Any] | None:
    """Every rank's payload, in rank order (a collective); None when not distributed.

    The one all-gather of lpm: any picklable payload, so other packages (``lpm.ldm``)
    can gather through it too.
    """
    dist = _dist()
    if dist is None:
        return None
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, payload)
    return out


def local_gpu_index() -> int | None:
    """The visible GPU this rank uses, when it can be told without importing torch."""
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                return int(torch.cuda.current_device())
        except Exception:
            pass
    local_rank = os.environ.get("LOCAL_RANK")
    local_world = os.environ.get("LOCAL_WORLD_SIZE")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if local_rank is None or local_world is None or visible is None:
        return None
    n_visible = len([v for v in visible.split(",") if v.strip()])
    if n_visible == int(local_world) > 1:
        return int(local_rank)
    return None


def merge_stats(per_rank: list[StepStats]) -> StepStats:
    """Step statistics of the whole job from each rank's (power adds up over ranks).

    Ranks step together, so a step's duration is the mean over ranks and its power the
    sum; spreads of independent ranks add in quadrature. Provenance combines the ranks'.
    """
    from lpm.energy.results import StepStats

    if not per_rank:
        raise ValueError("merge_stats needs the statistics of at least one rank")
    n = len(per_rank)
    return StepStats.from_parts(
        count=min(s.count for s in per_rank),
        duration_s_mean=sum(s.duration_s_mean for s in per_rank) / n,
        duration_s_std=sum(s.duration_s_std for s in per_rank) / n,
        power_w_mean=sum(s.power_w_mean for s in per_rank),
        power_w_std=math.sqrt(sum(s.power_w_std**2 for s in per_rank)),
        provenance=Provenance.combine(s.provenance for s in per_rank),
        window=per_rank[0].window,
        warmup_steps=per_rank[0].warmup_steps,
        power_samples=min(s.power_samples for s in per_rank),
    )


def merge_step_stats(per_rank: list[dict]) -> dict[str, StepStats]:
    """Step statistics of the whole job from each rank's serialised ones, per window name."""
    from lpm.energy.results import StepStats

    names = dict.fromkeys(n for p in per_rank for n in p)
    merged = {}
    for name in names:
        stats = [StepStats.from_dict(p[name]) for p in per_rank if name in p]
        if stats:
            merged[name] = merge_stats(stats)
    return merged


def merge_window_stats(per_rank: list[WindowStats]) -> WindowStats:
    """Window statistics of the whole job: energy summed over ranks, duration their mean."""
    from lpm.energy.results import WindowStats

    if not per_rank:
        raise ValueError("merge_window_stats needs the statistics of at least one rank")
    n = len(per_rank)
    return WindowStats(
        name=per_rank[0].name,
        count=min(w.count for w in per_rank),
        duration_s_mean=sum(w.duration_s_mean for w in per_rank) / n,
        duration_s_std=sum(w.duration_s_std for w in per_rank) / n,
        energy_j_mean=sum(w.energy_j_mean for w in per_rank),
        energy_j_std=math.sqrt(sum(w.energy_j_std**2 for w in per_rank)),
        steps_mean=sum(w.steps_mean for w in per_rank) / n,
        provenance=Provenance.combine(w.provenance for w in per_rank),
        skip=per_rank[0].skip,
    )


def host_once(meters: Sequence[MeterBase], info: DistInfo) -> list[MeterBase]:
    """Keep CPU/DRAM meters on one rank per host, covering all that host's ranks."""
    if not info.host_leader:
        return [m for m in meters if m.kind == "gpu"]
    others = [p for p in info.local_pids if p != os.getpid()]
    for m in meters:
        if m.kind in ("cpu", "dram") and others:
            m.track_pids(others)
    return list(meters)


@dataclass
class MergedRanks:
    """Every rank's run merged: devices once per id, windows, and what stats need."""

    components: list[ComponentEnergy]
    windows: dict[str, dict]
    duration_s: float
    groups: list[dict[str, StepGroup]]  # per rank, for step_stats with any warm-up
    window_aggs: list[dict[str, WindowAgg]]  # per rank, for window_stats with any skip
    ranks: list[dict]  # rank, host, duration_s of each
    faults: list[str]  # the other ranks' faults, "rank N: ..."

    def step_stats(self, window: str | None, warmup: int, fallback: Provenance) -> StepStats | None:
        """The job's step statistics of one window name; None where no rank has steps."""
        from lpm.energy.accounting import ALL_STEPS

        name = ALL_STEPS if window is None else window
        per_rank = [g[name] for g in self.groups if name in g and g[name].steps]
        if not per_rank:
            return None
        return merge_stats([g.stats(warmup, window, fallback) for g in per_rank])

    def window_stats(self, name: str, skip: int) -> WindowStats | None:
        """The job's window statistics of ``name``; None where it closed on no rank."""
        per_rank = [w[name] for w in self.window_aggs if name in w and w[name].count]
        if not per_rank:
            return None
        return merge_window_stats([a.stats(name, skip) for a in per_rank])


def rank_payload(info: DistInfo, local: RunSummary, accounts: Accounts) -> dict:
    """What this rank sends to the others at the end of a run."""
    return {
        "rank": info.rank,
        "host": info.host,
        "duration_s": local.duration_s,
        "steps": local.steps,
        "components": [c.to_dict() for c in local.components],
        "windows": local.windows,
        "step_stats": local.step_stats,
        **accounts.payload(),
        "faults": local.faults,
    }


def merge_ranks(everyone: list[dict], rank: int) -> MergedRanks:
    """Merge :func:`rank_payload` of every rank (as :func:`gather` returns them)."""
    from lpm.energy.accounting import StepGroup, WindowAgg
    from lpm.energy.results import ComponentEnergy

    comps: dict[str, ComponentEnergy] = {}
    names: set[str] = set()
    duration = max(p["duration_s"] for p in everyone)
    for p in everyone:
        for c in p["components"]:
            ce = ComponentEnergy.from_dict(c)
            if ce.device_id in comps:
                continue  # the same device seen by several ranks: counted once
            if ce.name in names:
                ce = ComponentEnergy(
                    f"{ce.name} [rank {p['rank']}]",
                    ce.kind,
                    ce.energy_j,
                    ce.energy_kwh,
                    ce.energy_j / duration if duration > 0 else 0.0,
                    ce.provenance,
                    ce.device_id,
                )
            names.add(ce.name)
            comps[ce.device_id] = ce
    kinds = {c.device_id: c.kind for c in comps.values()}
    aggs: dict[str, WindowAgg] = {}
    for p in everyone:
        for name, w in p["windows"].items():
            agg = aggs.get(name)
            if agg is None:
                agg = aggs[name] = WindowAgg(w["count"], w["duration_s"], w["steps"])
            for k, e in w.get("energy_by_device_j", {}).items():
                agg.energy.setdefault(k, e)
            for k, prov in w.get("provenance_by_device", {}).items():
                agg.provenance.setdefault(k, Provenance.parse(prov))
    run_prov = Provenance.combine(c.provenance for c in comps.values())
    return MergedRanks(
        components=list(comps.values()),
        windows={n: a.summary(kinds, run_prov) for n, a in aggs.items()},
        duration_s=duration,
        groups=[
            {n: StepGroup.from_payload(g) for n, g in p.get("groups", {}).items()} for p in everyone
        ],
        window_aggs=[
            {n: WindowAgg.from_payload(a) for n, a in p.get("window_aggs", {}).items()}
            for p in everyone
        ],
        ranks=[
            {"rank": p["rank"], "host": p["host"], "duration_s": p["duration_s"]} for p in everyone
        ],
        faults=[
            f"rank {p['rank']}: {f}" for p in everyone if p["rank"] != rank for f in p["faults"]
        ],
    )


def job_components(runs: Sequence[RunSummary]) -> list[ComponentEnergy]:
    """One job's components from the records of its ranks or Slurm tasks, each device once.

    A record of torch.distributed ranks (a ``distributed`` context entry) holds the whole
    job: one record per run id counts. Records of Slurm tasks hold one task each and are
    added up: a GPU (``gpu-uuid:`` device id) seen in several counts once; node-wide meters
    are in the records with ``node_energy`` only, and process estimates are per task
    (:mod:`lpm.energy.slurm`). Names get their task ("[task 1 on n1]") where they repeat.
    """
    from lpm.energy.results import ComponentEnergy

    jobs = {
        r.context["slurm"].get("job_id") for r in runs if isinstance(r.context.get("slurm"), dict)
    }
    if len(jobs) > 1:
        shown = ", ".join(sorted(str(j) for j in jobs))
        raise LpmError(f"these records are of several Slurm jobs ({shown}); give one job's")
    seen_runs: set[str] = set()
    gpus: set[str] = set()
    names: set[str] = set()
    out: list[ComponentEnergy] = []
    for r in runs:
        if "distributed" in r.context:
            if r.run_id in seen_runs:
                continue  # another rank's copy of the same job summary
            seen_runs.add(r.run_id)
        slurm = r.context.get("slurm") if isinstance(r.context.get("slurm"), dict) else {}
        for c in r.components:
            if c.device_id.startswith("gpu-uuid:"):
                if c.device_id in gpus:
                    continue
                gpus.add(c.device_id)
            if c.name in names and slurm:
                task = f"[task {slurm.get('proc_id')} on {slurm.get('node_name')}]"
                c = ComponentEnergy(
                    f"{c.name} {task}",
                    c.kind,
                    c.energy_j,
                    c.energy_kwh,
                    c.mean_power_w,
                    c.provenance,
                    c.device_id,
                )
            names.add(c.name)
            out.append(c)
    return out
