"""Scenarios with several processes run under torchrun; rank 0's result comes back."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpm.errors import LpmError
from lpm.study.ddp import train_distributed

ENTRY = "tests.study.fake_ddp_entry"


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))


def test_torchrun_runs_n_processes_and_returns_rank_0_result(tmp_path: Path) -> None:
    result = train_distributed({"iterations": 7}, 2, tmp_path, threads=1, entry=ENTRY)
    assert result == {"world_size": 2, "threads": "1", "iterations": 7}


def test_failed_ranks_give_an_error_with_the_log(tmp_path: Path) -> None:
    with pytest.raises(LpmError) as info:
        train_distributed({"fail": True}, 2, tmp_path, threads=1, entry=ENTRY)
    message = str(info.value)
    assert "training with 2 processes failed" in message
    assert str(tmp_path / "ddp.log") in message
