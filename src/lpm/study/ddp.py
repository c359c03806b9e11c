"""Training with several processes: torchrun around an internal entry point.

``python -m torch.distributed.run --standalone --nproc-per-node N -m lpm.study.ddp
CONFIG.json RESULT.json`` runs ``lpm.ldm.train_ldm`` in N processes (gloo on CPU, NCCL on
GPUs: lpm.ldm picks); rank 0 writes the TrainResult as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.io import atomic_write_text


def train_distributed(
    config: dict[str, Any],
    processes: int,
    work_dir: Path,
    *,
    threads: int | None = None,
    entry: str = "lpm.study.ddp",
) -> dict[str, Any]:
    """Run train_ldm(TrainConfig(**config)) under torchrun; return TrainResult.to_dict().

    `entry` is the module torchrun starts in each process (``CONFIG.json RESULT.json``).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / "ddp_config.json"
    result_path = work_dir / "ddp_result.json"
    log_path = work_dir / "ddp.log"
    config_path.write_text(json.dumps(config, default=str), encoding="utf-8")
    result_path.unlink(missing_ok=True)
    env = dict(os.environ)
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // processes)
    env["OMP_NUM_THREADS"] = str(threads)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={processes}",
        "-m",
        entry,
        str(config_path),
        str(result_path),
    ]
    with open(log_path, "w", encoding="utf-8") as log:
        rc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    if rc != 0 or not result_path.exists():
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        raise LpmError(
            f"training with {processes} processes failed (exit {rc}); see {log_path}: "
            + " | ".join(tail)
        )
    return json.loads(result_path.read_text(encoding="utf-8"))


def _main(argv: list[str]) -> None:
    from lpm.ldm import TrainConfig, train_ldm

    config_path, result_path = Path(argv[0]), Path(argv[1])
    config = TrainConfig(**json.loads(config_path.read_text(encoding="utf-8")))
    result = train_ldm(config)
    if int(os.environ.get("RANK", "0")) == 0 and result is not None:
        atomic_write_text(result_path, json.dumps(result.to_dict(), default=str))


if __name__ == "__main__":
    _main(sys.argv[1:])
