"""The output guard: no run of one kind writes over another's files, nor over earlier samples
unless told to; an --out that is a file or unwritable is refused before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lpm.errors import LpmError
from lpm.ldm import SampleConfig, sample_ldm
from lpm.ldm.outputs import (
    AUTOENCODER,
    DIFFUSION,
    SAMPLES,
    check_output,
    check_writable,
    run_kinds,
)
from tests.ldm.helpers import sim_meters, tiny_autoencoder, tiny_ldm


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under FOLDER and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _sample(run: Path, out: Path, **kw) -> object:
    values = {"run": run, "n": 1, "steps": 2, "out": out, "progress": False, "interval_s": 0.1}
    values.update(kw)
    return sample_ldm(SampleConfig(**values), meters=sim_meters())


def test_the_kinds_of_run_are_told_by_their_files(tmp_path: Path, ae2d: Path, ldm2d: Path) -> None:
    assert run_kinds(ae2d) == {AUTOENCODER}
    assert run_kinds(ldm2d) == {DIFFUSION}
    _sample(ldm2d, tmp_path / "s", png=False)
    assert run_kinds(tmp_path / "s") == {SAMPLES}
    assert run_kinds(tmp_path / "missing") == set()
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / "train-autoencoder-20260101T000000Z-abcdef.jsonl").write_text("{}\n")
    assert run_kinds(killed) == {AUTOENCODER}  # killed before its first checkpoint


def test_an_out_that_is_a_file_or_unwritable_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    with pytest.raises(LpmError, match="is a file"):
        check_writable(afile)
    with pytest.raises(LpmError, match=r"above .* is a file"):
        check_writable(afile / "below")
    with pytest.raises(LpmError, match="does not take new files"):
        check_writable(Path("/proc/lpm-out"))
    assert afile.read_text() == "keep me"
    assert check_writable(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]  # nor leaves its probe


def test_sampling_into_a_training_run_is_refused_and_changes_nothing(
    tmp_path: Path, ae2d: Path, ldm2d: Path
) -> None:
    for run in (ldm2d, ae2d):
        before = snapshot(run)
        with pytest.raises(LpmError, match=r"holds a(n autoencoder| diffusion training) run"):
            _sample(ldm2d, run)
        assert snapshot(run) == before


def test_training_into_samples_or_the_other_stage_is_refused(
    tmp_path: Path, ae2d: Path, ldm2d: Path
) -> None:
    samples = tmp_path / "s"
    _sample(ldm2d, samples, png=False)
    for target, train in (
        (samples, lambda out: tiny_ldm(out, ae2d)),
        (samples, lambda out: tiny_autoencoder(out)),
        (ae2d, lambda out: tiny_ldm(out, ae2d)),
        (ldm2d, lambda out: tiny_autoencoder(out)),
    ):
        before = snapshot(target)
        with pytest.raises(LpmError, match="use another --out") as err:
            train(target)
        assert "None" not in str(err.value)  # the kinds in words, not a missing setting
        assert snapshot(target) == before


def test_a_checkpoint_of_another_stage_is_named_in_words(tmp_path: Path, ldm2d: Path) -> None:
    """A folder that only holds a checkpoint (killed early) of the other stage."""
    from lpm.ldm.checkpoint import save_atomic

    out = tmp_path / "ckpt"
    (out / "checkpoints").mkdir(parents=True)
    save_atomic({"iteration": 2, "config": {"dims": 2, "size": [32, 32], "model": "small"}},
                out / "checkpoints" / "last.pt")  # fmt: skip
    with pytest.raises(LpmError, match="another kind of run, not an autoencoder run") as err:
        tiny_autoencoder(out)
    assert "None" not in str(err.value)


def test_sampling_twice_into_one_folder_needs_replace(tmp_path: Path, ldm2d: Path) -> None:
    out = tmp_path / "s"
    _sample(ldm2d, out, n=3, batch_size=3)
    before = snapshot(out)
    with pytest.raises(LpmError, match="already holds samples; pass --replace"):
        _sample(ldm2d, out, n=1)
    assert snapshot(out) == before
    _sample(ldm2d, out, n=1, replace=True)
    assert sorted(p.name for p in out.glob("sample_*.nii.gz")) == ["sample_00000.nii.gz"]
    assert json.loads((out / "summary.json").read_text())["samples"] == 1


def test_check_output_lets_a_training_run_resume_into_its_own_folder(ldm2d: Path) -> None:
    assert check_output(ldm2d, DIFFUSION) == ldm2d
    with pytest.raises(ValueError):
        check_output(ldm2d, "other")
