"""The multi-node DDP batch script of docs/slurm.md, run on two slurmd of one machine."""

from __future__ import annotations

import json
import re
import socket
import sys
from pathlib import Path

import pytest
from tests.slurm.cluster import SlurmCluster

DOC = Path(__file__).resolve().parents[2] / "docs" / "slurm.md"


def doc_script(marker: str) -> str:
    """The ```bash block of docs/slurm.md that contains MARKER."""
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    (script,) = [b for b in blocks if marker in b]
    return script


def _sub(text: str, old: str, new: str) -> str:
    assert old in text, f"docs/slurm.md's script no longer has {old!r}"
    return text.replace(old, new)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_the_documented_multi_node_script_trains_across_two_nodes(
    slurm_two_nodes: SlurmCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "ddp"
    script = doc_script("--rdzv-backend c10d")
    # the test's machine: no GPUs, 1 CPU per task, a tiny model; node names that do
    # not resolve (both nodes are 127.0.0.1), torchrun from this interpreter
    script = _sub(script, "#SBATCH --gpus-per-node=4\n", "")
    script = _sub(script, "--cpus-per-task=32", "--cpus-per-task=1")
    script = _sub(script, '"$head:29500"', f"127.0.0.1:{_free_port()}")
    script = _sub(script, "srun torchrun", f"srun {sys.executable} -m torch.distributed.run")
    script = _sub(script, "--nproc-per-node 4", "--nproc-per-node 1")
    script = _sub(
        script,
        "--dims 3 --size 128 --model small --autoencoder runs/ae3d \\\n  --iterations 6000 "
        "--batch-size 2",
        "--dims 2 --size 16 --model small --autoencoder-iterations 1 --iterations 3 "
        "--batch-size 1 --interval-s 0.1 --no-progress",
    )
    script = _sub(script, '"runs/ldm3d-2x4-$SLURM_JOB_ID"', f'"{out}"')
    (tmp_path / "ddp.sh").write_text(script)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    log = tmp_path / "ddp.log"
    job = slurm_two_nodes.sbatch("-o", str(log), str(tmp_path / "ddp.sh"))
    state = slurm_two_nodes.wait(job, timeout_s=240)
    assert state == "COMPLETED", log.read_text()[-3000:]

    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["iterations"] == 3
    ranks = sorted(out.glob("train-*-rank*.jsonl"))
    assert len(ranks) == 2
    jobs = [json.loads(p.read_text().splitlines()[0])["context"]["slurm"] for p in ranks]
    assert {j["job_id"] for j in jobs} == {job}
    assert sorted((j["node_id"], j["node_name"]) for j in jobs) == [(0, "lpm1"), (1, "lpm2")]
    # both "nodes" are this one machine: its CPU is measured once, by the lowest rank
    assert [j["node_energy"] for j in jobs] == [True, False]
