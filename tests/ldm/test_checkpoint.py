"""Checkpoint files: atomic writes, readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lpm.errors import LpmError
from lpm.ldm import checkpoint as ckpt


def test_atomic_save_leaves_only_the_file(tmp_path: Path) -> None:
    path = ckpt.save_atomic({"a": torch.ones(2)}, tmp_path / "c" / "last.pt")
    ckpt.save_atomic({"a": torch.zeros(2)}, path)
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]
    assert torch.equal(ckpt.load(path)["a"], torch.zeros(2))


def test_missing_or_damaged_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(LpmError, match="does not exist"):
        ckpt.load(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(LpmError, match="may be damaged"):
        ckpt.load(bad)


def test_rng_state_round_trip() -> None:
    state = ckpt.rng_state()
    a = torch.rand(3)
    ckpt.set_rng_state(state)
    assert torch.equal(torch.rand(3), a)
