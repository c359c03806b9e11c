"""TDP tables (package data) and the constants of the estimation models, with sources.

See docs/SOURCES.md for where ``data/cpu_tdp.csv`` and ``data/gpu_tdp.csv`` come from and
docs/energy.md for how the estimates use them.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources

# Green Algorithms' fallback for a CPU that is not in its table ("Any" row of
# data/v3.0/TDP_cpu.csv): 12 W per core. Lannelongue, Grealey & Inouye (2021), Adv. Sci. 8,
# 2100707; github.com/GreenAlgorithms/green-algorithms-tool.
FALLBACK_W_PER_CORE = 12.0

# Green Algorithms' fallback for a GPU that is not in its table ("Any" row): 200 W.
FALLBACK_GPU_W = 200.0

# Memory power per GB: Green Algorithms uses 0.3725 W/GB (Lannelongue et al. 2021, from
# Tom's Hardware measurements); CodeCarbon before v3 and Crucial's rule of thumb use 3 W per
# 8 GB = 0.375 W/GB; Cloud Carbon Footprint uses 0.392 W/GB (Crucial and Micron averaged).
DRAM_W_PER_GB = 0.3725

# Idle power of a core as a fraction of its full-load power. Cloud Carbon Footprint's
# SPECpower-based averages of min and max watts per vCPU: AWS 0.74/3.5 = 0.21, Azure
# 0.78/3.76 = 0.21, GCP 0.71/4.26 = 0.17, AMD EPYC 3rd gen 0.45/1.87 = 0.24
# (cloudcarbonfootprint.org/docs/methodology). lpm uses 0.2.
CPU_IDLE_FRACTION = 0.2

_VENDOR_WORDS = {"intel", "amd", "nvidia", "geforce", "tesla", "processor", "cpu", "apple"}


@dataclass(frozen=True)
class CpuTdp:
    """A CPU table row: model name, TDP of one package, cores per package (or None)."""

    model: str
    tdp_w: float
    cores: int | None
    source: str


@dataclass(frozen=True)
class GpuTdp:
    """A GPU table row."""

    model: str
    tdp_w: float
    source: str


def normalize_model(text: str) -> tuple[str, ...]:
    """Tokens of a CPU or GPU model name without vendor words, marks, clocks or core counts."""
    s = text.lower()
    s = s.replace("(r)", " ").replace("(tm)", " ").replace("®", " ").replace("™", " ")
    s = re.sub(r"@\s*[\d.]+\s*[gm]hz", " ", s)
    s = re.sub(r"\b\d+-core\b", " ", s)
    s = re.sub(r"\bwith radeon.*$", " ", s)
    s = re.sub(r"[^a-z0-9.]+", " ", s)
    return tuple(t for t in s.split() if t not in _VENDOR_WORDS)


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("lpm.energy").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@functools.lru_cache(maxsize=1)
def cpu_table() -> tuple[CpuTdp, ...]:
    """All rows of data/cpu_tdp.csv."""
    rows = []
    for r in _read_csv("cpu_tdp.csv"):
        cores = int(r["cores"]) if r.get("cores") else None
        rows.append(CpuTdp(r["model"], float(r["tdp_w"]), cores, r["source"]))
    return tuple(rows)


@functools.lru_cache(maxsize=1)
def gpu_table() -> tuple[GpuTdp, ...]:
    """All rows of data/gpu_tdp.csv."""
    return tuple(
        GpuTdp(r["model"], float(r["tdp_w"]), r["source"]) for r in _read_csv("gpu_tdp.csv")
    )


def _has_digit(token: str) -> bool:
    return any(c.isdigit() for c in token)


def _best_match(query: str, names: list[str], *, strict: bool) -> int | None:
    """Index of the best table name for ``query``, or None.

    Exact token match first. Then a table name whose tokens are all in the query and that
    shares a token with a digit (the model number). Without ``strict``, finally the name
    with the largest token overlap that shares the query's model number.
    """
    q = normalize_model(query)
    if not q:
        return None
    q_set = set(q)
    q_numbers = {t for t in q if _has_digit(t)}
    if not q_numbers:
        return None  # "AMD EPYC" alone names no model
    normalized = [normalize_model(n) for n in names]
    for i, toks in enumerate(normalized):
        if toks == q:
            return i
    best, best_len = None, 0
    for i, toks in enumerate(normalized):
        if toks and set(toks) <= q_set and q_numbers & set(toks) and len(toks) > best_len:
            best, best_len = i, len(toks)
    if best is not None or strict:
        return best
    best_score = 0
    for i, toks in enumerate(normalized):
        if not (q_numbers & set(toks)):
            continue
        # a shared form factor (SXM, PCIe) says more about power than a memory size
        score = sum(15 if t.startswith(("sxm", "pcie", "nvl")) else 10 for t in q_set & set(toks))
        score -= len(set(toks) - q_set)
        if score > best_score:
            best, best_score = i, score
    return best


def lookup_cpu(model_name: str) -> CpuTdp | None:
    """The table row for a CPU model name as /proc/cpuinfo reports it, or None."""
    table = cpu_table()
    i = _best_match(model_name, [r.model for r in table], strict=True)
    return None if i is None else table[i]


def lookup_gpu(name: str) -> GpuTdp | None:
    """The table row for a GPU name as NVML reports it, or None."""
    table = gpu_table()
    aliases = {"h100 80gb hbm3": "NVIDIA H100 SXM"}  # SOURCES.md: how nvidia-smi names an SXM H100
    key = " ".join(normalize_model(name))
    for alias, model in aliases.items():
        if alias in key:
            return next(r for r in table if r.model == model)
    i = _best_match(name, [r.model for r in table], strict=False)
    return None if i is None else table[i]


def cores_in_model_name(model_name: str) -> int | None:
    """Core count written in a model name ("AMD EPYC 7543 32-Core Processor" -> 32)."""
    m = re.search(r"\b(\d+)-core\b", model_name, re.IGNORECASE)
    return int(m.group(1)) if m else None
