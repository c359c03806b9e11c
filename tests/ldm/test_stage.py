"""The training-stage loop: windows up to each checkpoint, resume, the loss log."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lpm.errors import LpmError
from lpm.ldm import checkpoint as ckpt
from lpm.ldm.losslog import LossLog
from lpm.ldm.stage import resume, resume_state, run_iterations


class _Tracker:
    def __init__(self) -> None:
        self.events: list[str] = []

    @contextmanager
    def window(self, name: str):
        self.events.append(f"<{name}")
        yield
        self.events.append(f"{name}>")

    def step(self) -> None:
        self.events.append("step")


class _Stage:
    def __init__(self) -> None:
        self.seen: list[tuple[int, Any]] = []
        self.flushed = 0
        self.batch = 0

    def restore(self, state: dict[str, Any]) -> int:
        return int(state["iteration"])

    def next_batch(self) -> int:
        self.batch += 1
        return self.batch

    def step(self, iteration: int, batch: Any) -> dict[str, float]:
        self.seen.append((iteration, batch))
        return {"loss": 0.0}

    def state(self, iteration: int) -> dict[str, Any]:
        return {"iteration": iteration, "config": {"dims": 2}}

    def before_checkpoint(self) -> None:
        self.flushed += 1


def _cfg(out: Path, **kw: Any) -> Any:
    values = {"out": out, "iterations": 5, "checkpoint_every": 2, "progress": False}
    values.update(kw)
    return SimpleNamespace(**values, model_dump=lambda mode: {"dims": kw.get("dims", 2)})


def test_windows_end_at_each_checkpoint_and_the_last_iteration(tmp_path: Path) -> None:
    stage, tracker = _Stage(), _Tracker()
    run_iterations(stage, _cfg(tmp_path), tracker, start=0, first_batch="first", label="x")
    assert stage.seen == [(0, "first"), (1, 1), (2, 2), (3, 3), (4, 4)]
    assert tracker.events.count("<train") == 3 and tracker.events.count("<checkpoint") == 3
    assert stage.flushed == 3
    last = tmp_path / "checkpoints" / ckpt.LAST
    assert ckpt.load(last)["iteration"] == 5


def test_resume_starts_at_the_checkpoint_and_refuses_other_settings(tmp_path: Path) -> None:
    stage = _Stage()
    run_iterations(stage, _cfg(tmp_path), _Tracker(), start=0, first_batch=0, label="x")
    state = resume_state(_cfg(tmp_path), ("dims",), "a test run")
    assert resume(stage, state) == 5 and resume(stage, None) == 0
    with pytest.raises(LpmError, match="holds a test run with dims=2, not 3"):
        resume_state(_cfg(tmp_path, dims=3), ("dims",), "a test run")
    assert resume_state(_cfg(tmp_path / "none"), ("dims",), "x") is None


def test_loss_log_drops_lines_after_the_resumed_start(tmp_path: Path) -> None:
    path = tmp_path / "losses.jsonl"
    with LossLog(path, 0) as log:
        for i in range(1, 5):
            log.write(i, float(i))
    with LossLog(path, 2) as log:
        log.write(3, 30.0)
    assert path.read_text().splitlines() == [
        '{"iteration": 1, "loss": 1.0}',
        '{"iteration": 2, "loss": 2.0}',
        '{"iteration": 3, "loss": 30.0}',
    ]
    with LossLog(tmp_path / "off.jsonl", 0, enabled=False) as log:
        log.write(1, 1.0)
        log.flush()
    assert not (tmp_path / "off.jsonl").exists()
