"""The Slurm job this process runs in, read once from its environment (never ``scontrol``).

``SlurmJob.from_env()`` reads the variables ``srun``/``sbatch`` set; a malformed value is
ignored and noted, never raised. The job decides two things for the meters of one task:
which task of a node measures the node-wide meters (CPU, DRAM: the task with
``SLURM_LOCALID`` 0), and which of the node's GPUs a task measures when several tasks share
them, so that the records of all tasks of a job add up to each device once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Slurm's special step ids (SLURM_BATCH_SCRIPT, SLURM_EXTERN_CONT, SLURM_INTERACTIVE_STEP)
_SPECIAL_STEPS = {4294967294: "batch", 4294967295: "extern", 4294967293: "interactive"}
_NAME = re.compile(r"^[A-Za-z0-9._+@:-]{1,200}$")  # node, account, partition names
_GPU_ENTRY = re.compile(r"^[A-Za-z0-9._/:-]{1,100}$")
_TASKS_PER_NODE = re.compile(r"^([0-9]{1,9})(?:\(x([0-9]{1,9})\))?$")  # "4", "2(x3)"
_DIGITS = re.compile(r"^[0-9]{1,12}$")  # ASCII only: str.isdigit() takes "²", int() does not
MAX_GPUS = 1024
FROM_ENV = object()
"""Default of the ``slurm`` arguments: read the job from ``os.environ`` then."""
GPU_VARS = ("CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS")


def _whole(env: Mapping[str, str], var: str, notes: list[str], least: int = 0) -> int | None:
    raw = env.get(var)
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if _DIGITS.match(text) and int(text) >= least:
        return int(text)
    notes.append(f"{var}={raw[:40]!r} is not a whole number >= {least}; ignored")
    return None


def _name(env: Mapping[str, str], var: str, notes: list[str]) -> str | None:
    raw = env.get(var)
    if raw is None or raw.strip() == "":
        return None
    if _NAME.match(raw.strip()):
        return raw.strip()
    notes.append(f"{var}={raw[:40]!r} is not a plain name; ignored")
    return None


def _step(env: Mapping[str, str], notes: list[str]) -> str | None:
    var = "SLURM_STEP_ID" if "SLURM_STEP_ID" in env else "SLURM_STEPID"
    raw = env.get(var)
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if _DIGITS.match(text):
        return _SPECIAL_STEPS.get(int(text), str(int(text)))
    if text in _SPECIAL_STEPS.values():
        return text
    notes.append(f"{var}={raw[:40]!r} is not a step id; ignored")
    return None


def _gpus(env: Mapping[str, str], notes: list[str]) -> tuple[tuple[str, ...], str | None]:
    """The GPU list CUDA will see (the order NVML's scope uses), and the variable it came from."""
    for var in GPU_VARS:
        if var not in env:
            continue
        raw = env[var]
        entries = [e.strip() for e in raw.split(",") if e.strip()]
        if raw.strip() == "NoDevFiles":  # Slurm's value for a job without GPUs
            return (), var
        good = [e for e in entries if _GPU_ENTRY.match(e)]
        if len(good) != len(entries) or len(good) > MAX_GPUS:
            notes.append(f"{var} has entries that name no GPU; kept {min(len(good), MAX_GPUS)}")
        return tuple(good[:MAX_GPUS]), var
    return (), None


def parse_tasks_per_node(text: str) -> list[int] | None:
    """``SLURM_TASKS_PER_NODE`` ("2(x3),1") as one count per node; None if malformed."""
    counts: list[int] = []
    for part in text.split(","):
        m = _TASKS_PER_NODE.match(part.strip())
        if m is None:
            return None
        repeat = int(m.group(2) or 1)
        if repeat > 100_000 or len(counts) + repeat > 100_000:
            return None
        counts.extend([int(m.group(1))] * repeat)
    return counts or None


def _tasks_on_node(
    env: Mapping[str, str], step: str | None, node_id: int | None, notes: list[str]
) -> int | None:
    """Tasks of this step on this node; the batch script is one task whatever was asked."""
    names = ["SLURM_STEP_TASKS_PER_NODE"]
    if step is None or step == "batch":
        if "SLURM_STEP_TASKS_PER_NODE" not in env:
            return 1
    else:
        names.append("SLURM_TASKS_PER_NODE")
    for var in names:
        raw = env.get(var)
        if raw is None or raw.strip() == "":
            continue
        counts = parse_tasks_per_node(raw)
        if counts is None:
            notes.append(f"{var}={raw[:40]!r} is not Slurm's tasks-per-node form; ignored")
            return None
        if len(counts) == 1:
            return counts[0]
        if node_id is not None and node_id < len(counts):
            return counts[node_id]
        return None
    return None


@dataclass(frozen=True)
class SlurmJob:
    """One task of a Slurm job step, as its environment describes it.

    ``job_id`` is None only when ``SLURM_JOB_ID`` was malformed; ``step_id`` is the step
    number as text, or "batch" / "extern" / "interactive"; ``gpus`` are the entries of the
    first of CUDA_VISIBLE_DEVICES, SLURM_STEP_GPUS, SLURM_JOB_GPUS that is set (the list
    the GPU meter is scoped by); ``notes`` say which values were ignored.
    """

    job_id: str | None
    step_id: str | None = None
    proc_id: int | None = None
    local_id: int | None = None
    node_id: int | None = None
    node_name: str | None = None
    ntasks: int | None = None
    account: str | None = None
    partition: str | None = None
    gpus: tuple[str, ...] = ()
    gpus_from: str | None = None
    gpus_on_node: int | None = None  # SLURM_GPUS_ON_NODE: the step's GPUs on this node
    gpus_bound: bool = False  # SLURMD_TRES_BIND=gpu:...: each task got GPUs of its own
    tasks_on_node: int | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SlurmJob | None:
        """The job of this process (``os.environ`` by default); None outside Slurm.

        Reads each variable once; never runs a Slurm command and never raises on a value.
        """
        env = dict(os.environ if environ is None else environ)  # one snapshot
        raw_id = env.get("SLURM_JOB_ID")
        if raw_id is None or raw_id.strip() == "":
            return None
        notes: list[str] = []
        job_id = raw_id.strip() if _DIGITS.match(raw_id.strip()) else None
        if job_id is None:
            notes.append(f"SLURM_JOB_ID={raw_id[:40]!r} is not a job number; ignored")
        node_id = _whole(env, "SLURM_NODEID", notes)
        gpus, source = _gpus(env, notes)
        step = _step(env, notes)
        bind = env.get("SLURMD_TRES_BIND", "")
        return cls(
            job_id=job_id,
            step_id=step,
            proc_id=_whole(env, "SLURM_PROCID", notes),
            local_id=_whole(env, "SLURM_LOCALID", notes),
            node_id=node_id,
            node_name=_name(env, "SLURMD_NODENAME", notes),
            ntasks=_whole(env, "SLURM_NTASKS", notes, least=1),
            account=_name(env, "SLURM_JOB_ACCOUNT", notes),
            partition=_name(env, "SLURM_JOB_PARTITION", notes),
            gpus=gpus,
            gpus_from=source,
            gpus_on_node=_whole(env, "SLURM_GPUS_ON_NODE", notes),
            gpus_bound=bind.startswith("gpu:") and bind != "gpu:none",
            tasks_on_node=_tasks_on_node(env, step, node_id, notes),
            notes=tuple(notes),
        )

    @property
    def is_node_leader(self) -> bool:
        """Whether this task measures the node-wide meters (``local_id == 0``, or unknown)."""
        return self.local_id in (0, None)

    @property
    def shares_node(self) -> bool:
        """Whether other tasks of this step may run on this node."""
        if self.tasks_on_node is not None:
            return self.tasks_on_node > 1
        return bool(self.local_id) or (self.ntasks or 1) > 1

    def gpu_select(self) -> list[int] | None:
        """Positions of the visible GPUs this task measures; None: all it sees.

        When the node's tasks all see the same GPUs: one each (task ``local_id`` takes
        visible GPU ``local_id``, torchrun's layout) when there are as many GPUs as tasks,
        else all of them by the node's first task and none by the others. Tasks bound to
        GPUs of their own (``--gpus-per-task``, ``--gpu-bind``: ``SLURMD_TRES_BIND``, or
        fewer visible than ``SLURM_GPUS_ON_NODE``) measure what they see.
        """
        if not self.shares_node or self.local_id is None or not self.gpus:
            return None
        if self.gpus_bound or (
            self.gpus_on_node is not None and len(self.gpus) < self.gpus_on_node
        ):
            return None  # this task's own GPUs
        if self.tasks_on_node == len(self.gpus):
            return [self.local_id]
        return None if self.is_node_leader else []

    def to_dict(self) -> dict:
        """The contract's fields, JSON-ready."""
        return {
            "job_id": self.job_id,
            "step_id": self.step_id,
            "proc_id": self.proc_id,
            "local_id": self.local_id,
            "node_id": self.node_id,
            "node_name": self.node_name,
            "ntasks": self.ntasks,
            "account": self.account,
            "partition": self.partition,
            "gpus": list(self.gpus),
        }


NODE_KINDS = ("cpu", "dram")


def per_task(meter: object) -> bool:
    """Whether a meter follows only this task's processes (a process-scope estimate)."""
    from lpm.energy.estimated import EstimatedCpuMeter, EstimatedDramMeter

    return isinstance(meter, EstimatedCpuMeter | EstimatedDramMeter) and meter.scope == "process"


def node_once(meters: Sequence, job: SlurmJob | None) -> list:
    """Count node-wide energy on the node's first task when several tasks share the node.

    The other tasks drop the CPU/DRAM meters that see the whole node (RAPL, machine-scope
    estimates, simulated or unknown meters); they keep the estimates of their own
    processes, the CPU one counting only its busy share (the first task counts the idle).
    """
    if job is None or job.is_node_leader or not job.shares_node:
        return list(meters)
    kept = []
    for m in meters:
        if getattr(m, "kind", None) not in NODE_KINDS:
            kept.append(m)
        elif per_task(m):
            if m.kind == "cpu":
                m.leave_idle_share()
            kept.append(m)
    return kept


def context(job: SlurmJob, meters: Sequence) -> dict:
    """The run context's ``slurm`` entry: the job, and whether this record holds node energy.

    ``node_energy`` is true when this task's record holds the node-wide CPU and DRAM
    energy (RAPL packages, the CPUs' idle share); the records of a job's other tasks on
    the node hold only their GPUs and their own processes' estimates, so that adding the
    records of all tasks counts each node once.
    """
    return {
        **job.to_dict(),
        "tasks_on_node": job.tasks_on_node,
        "node_leader": job.is_node_leader,
        "node_energy": (job.is_node_leader or not job.shares_node)
        and any(getattr(m, "kind", None) in NODE_KINDS for m in meters),
    }
