"""The spec's ``slurm:`` block: partition, account, time limit, GPUs, more sbatch options.

Also the two parsers it needs: Slurm's time limits and sbatch option names.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

RESERVED_SBATCH = frozenset({"output", "error", "open-mode", "array", "wrap", "parsable"})


class SlurmSettings(BaseModel):
    """How each run is submitted with ``--executor slurm``; the ``--slurm-*`` flags win."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    partition: str | None = None
    account: str | None = None
    time: str | None = Field(
        None, description="time limit of each job in Slurm's form: MM, HH:MM:SS, D-HH:MM:SS"
    )
    gpus_per_task: int = Field(1, ge=0, description="GPUs per training process (0: none)")
    options: dict[str, str | int | float] = Field(
        default_factory=dict, description="more sbatch options, e.g. {qos: high}"
    )

    @field_validator("time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None:
            slurm_minutes(value)
        return value

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            sbatch_key(key)
        return value


def sbatch_key(key: str) -> str:
    """An sbatch option's name as written after ``--`` (``cpus_per_task`` -> cpus-per-task);
    a ValueError for a name sbatch cannot have or one that lpm sets itself."""
    name = key.strip().lstrip("-").replace("_", "-")
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise ValueError(f"{key!r} is not an sbatch option name (like qos or cpus-per-task)")
    if name in RESERVED_SBATCH:
        raise ValueError(f"--{name} is set by lpm for each job; leave it out")
    return name


def slurm_minutes(text: str) -> int:
    """Minutes of a Slurm time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS."""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a Slurm time (MM, HH:MM:SS or D-HH:MM:SS)")
    days, a, b, c = (int(g) if g else None for g in m.groups())
    if days is not None:  # D-HH[:MM[:SS]]
        seconds = days * 86400 + a * 3600 + (b or 0) * 60 + (c or 0)
    elif c is not None:  # HH:MM:SS
        seconds = a * 3600 + b * 60 + c  # type: ignore[operator]
    else:  # MM or MM:SS
        seconds = a * 60 + (b or 0)
    if seconds <= 0:
        raise ValueError(f"the time limit {text!r} is zero")
    return -(-seconds // 60)
