"""After a measurement only the bulk goes: samples and checkpoints, not the records."""

from __future__ import annotations

from pathlib import Path

from lpm.study.measure import _drop_bulk


def test_bulk_is_dropped_records_are_kept(tmp_path: Path) -> None:
    keep = [
        tmp_path / "train" / "summary.json",
        tmp_path / "train" / "train-1.jsonl",
        tmp_path / "samples" / "sample-1.jsonl",
        tmp_path / "samples" / "summary.json",
    ]
    drop = [
        tmp_path / "train" / "checkpoints" / "last.pt",
        tmp_path / "train" / "ldm.pt",
        tmp_path / "samples" / "sample_000.nii.gz",
        tmp_path / "samples" / "sample_000.png",
    ]
    for path in keep + drop:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    _drop_bulk(tmp_path)
    assert all(p.exists() for p in keep)
    assert not any(p.exists() for p in drop)
