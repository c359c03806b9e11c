"""lpm.io: atomic writes leave the old file or the new one, never half; lines are durable."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpm.errors import LpmError
from lpm.io import (
    append_jsonl,
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    load_yaml,
    read_jsonl_objects,
    write_line,
)


def test_atomic_write_bytes_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    atomic_write_bytes(path, b"old")
    assert atomic_write_bytes(path, b"\x00new") == path
    assert path.read_bytes() == b"\x00new"
    assert [p.name for p in tmp_path.iterdir()] == ["blob.bin"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = atomic_write_text(tmp_path / "s.txt", "old")
    with pytest.raises(RuntimeError), atomic_write(path, "w") as fh:
        fh.write("half")
        raise RuntimeError("killed mid-write")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["s.txt"]


def test_atomic_write_takes_a_file_object_for_writers_like_torch_save(tmp_path: Path) -> None:
    with atomic_write(tmp_path / "x.bin") as fh:
        fh.write(b"a")
        fh.write(b"b")
        assert not (tmp_path / "x.bin").exists()
    assert (tmp_path / "x.bin").read_bytes() == b"ab"


def test_atomic_write_refuses_appending(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="whole file"), atomic_write(tmp_path / "x", "a"):
        pass


def test_lines_are_written_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with open(path, "a", encoding="utf-8") as fh:
        write_line(fh, '{"a": 1}')
        assert path.read_text(encoding="utf-8") == '{"a": 1}\n'  # flushed before closing
    assert append_jsonl(path, (f'{{"n": {i}}}' for i in range(2))) == 2
    assert path.read_text(encoding="utf-8").splitlines() == ['{"a": 1}', '{"n": 0}', '{"n": 1}']


def test_a_write_the_system_refuses_names_the_target_not_a_temporary(tmp_path: Path) -> None:
    with pytest.raises(OSError) as info:
        atomic_write_text(tmp_path / "missing" / "out.txt", "x")
    assert info.value.filename == str(tmp_path / "missing" / "out.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(OSError) as info:
        atomic_write_text(tmp_path / "folder", "x")
    assert info.value.filename == str(tmp_path / "folder")
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]  # no temporary left


@pytest.mark.parametrize(
    ("content", "words"),
    [(bytes(range(128, 256)), "not a text file"), (None, "is a folder"), (b"a: [1", "not valid")],
)
def test_yaml_that_cannot_be_read_is_one_line(
    tmp_path: Path, content: bytes | None, words: str
) -> None:
    path = tmp_path / "spec.yaml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(LpmError, match=words):
        load_yaml(path, what="study spec")


def test_jsonl_objects_leave_damaged_and_foreign_lines_out(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    assert read_jsonl_objects(path) == []
    path.write_bytes(b'{"id": "1"}\n[1]\nnot json\n{"id": 2}\n\xff\xfe\n{"id": "3", "x": 1}\n{"id"')
    assert read_jsonl_objects(path, key="id") == [{"id": "1"}, {"id": "3", "x": 1}]
    assert len(read_jsonl_objects(path)) == 3
