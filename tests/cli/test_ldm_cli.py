"""`lpm train-autoencoder`, `lpm train`, `lpm sample`: tiny runs end to end; bad input is one
line on stderr and exit code 2."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from lpm.cli.main import main
from tests.cli_run import one_line_error
from tests.cli_run import run_cli as run_main

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    path.write_text("n_items: 4\ninterval_s: 0.2\nprogress: false\n")
    return path


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, tiny_config: Path) -> Path:
    """`lpm train` with no --autoencoder: trains a small autoencoder first."""
    out = tmp_path_factory.mktemp("run") / "ldm"
    main(
        [
            "train", "--dims", "2", "--size", "32", "--model", "small",
            "--iterations", "2", "--autoencoder-iterations", "2", "--batch-size", "2",
            "--out", str(out), "--config", str(tiny_config),
        ]
    )  # fmt: skip
    return out


def test_train_without_autoencoder_trains_one_and_reports(trained_run: Path) -> None:
    assert (trained_run / "autoencoder" / "autoencoder.pt").exists()
    summary = json.loads((trained_run / "summary.json").read_text())
    for field in ("iterations", "duration_s", "it_energy_kwh", "co2e_kg",
                  "energy_per_iteration_j", "flops_per_iteration", "parameters"):  # fmt: skip
        assert field in summary
    assert summary["iterations"] == 2


def test_sample_writes_nifti_in_hu(trained_run: Path, tmp_path: Path, capsys) -> None:
    code, out, err = run_main(
        ["sample", "--run", str(trained_run), "--n", "2", "--steps", "3",
         "--sampler", "ddim", "--out", str(tmp_path / "s"), "--no-progress"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "2 samples written" in out
    assert "energy / sample" in out
    files = sorted((tmp_path / "s").glob("*.nii.gz"))
    assert len(files) == 2
    data = nib.load(str(files[0])).get_fdata()
    assert data.shape == (32, 32)
    assert -1000 <= data.min() <= data.max() <= 1000
    assert "fixed / sample" in out and "(noise, decode, write)" in out
    assert "% of a sample" in out
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["samples"] == 2 and summary["energy_per_step_j"] > 0
    assert summary["fixed_per_sample_j_mean"] > 0 and summary["samples_measured"] == 2
    assert f"{summary['fixed_per_sample_j_mean']:.2f} ± " in out


def test_sample_prints_unknown_flops_and_leaves_out_the_warmup(
    trained_run: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lpm.ldm.sampling.count_flops", lambda fn: None)
    code, out, err = run_main(
        ["sample", "--run", str(trained_run), "--n", "2", "--steps", "2", "--batch-size", "1",
         "--warmup-steps", "2", "--out", str(tmp_path / "s"), "--no-progress", "--no-png"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    (row,) = [line for line in out.splitlines() if "FLOPs / step" in line]
    assert "unknown" in row
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["flops_per_step"] is None
    assert summary["samples_measured"] == 1 and summary["warmup_samples"] == 1
    assert "(over 1 sample, 1 batch)" in out


def test_train_autoencoder_with_shape_and_config(tmp_path: Path, capsys) -> None:
    config = tmp_path / "ae.yaml"
    config.write_text("channels: 16\nnum_embeddings: 32\nn_items: 2\niterations: 50\n")
    code, out, err = run_main(
        ["train-autoencoder", "--dims", "2", "--size", "32x32", "--iterations", "2",
         "--out", str(tmp_path / "ae"), "--no-progress", "--config", str(config)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "autoencoder trained" in out
    summary = json.loads((tmp_path / "ae" / "summary.json").read_text())
    assert summary["iterations"] == 2  # the flag overrides the file's 50
    saved = json.loads((tmp_path / "ae" / "config.json").read_text())
    assert saved["channels"] == 16 and saved["size"] == [32, 32]


def test_size_not_divisible(tmp_path: Path, capsys) -> None:
    line = one_line_error(
        ["train", "--dims", "2", "--size", "40", "--out", str(tmp_path / "x")], capsys
    )
    assert "does not divide by 16" in line and "32 or 48" in line
    line = one_line_error(
        ["train-autoencoder", "--dims", "3", "--size", "18", "--out", str(tmp_path / "x")],
        capsys,
    )
    assert "does not divide by 4" in line


def test_size_with_wrong_number_of_axes(tmp_path: Path, capsys) -> None:
    line = one_line_error(["train", "--dims", "3", "--size", "32x32", "--out", "x"], capsys)
    assert "2 axes but dims is 3" in line


def test_missing_dims_and_bad_model(capsys) -> None:
    assert "--dims is required" in one_line_error(["train", "--size", "32"], capsys)
    line = one_line_error(["train", "--dims", "2", "--size", "32", "--model", "huge"], capsys)
    assert "model" in line and "small" in line


def test_missing_run_dir_and_bad_sampler(trained_run: Path, tmp_path: Path, capsys) -> None:
    line = one_line_error(["sample", "--run", str(tmp_path / "nope"), "--out", "x"], capsys)
    assert "does not exist" in line
    line = one_line_error(
        ["sample", "--run", str(trained_run), "--sampler", "euler", "--out", str(tmp_path)],
        capsys,
    )
    assert "unknown sampler 'euler'" in line
    line = one_line_error(
        ["sample", "--run", str(trained_run), "--steps", "5000", "--out", str(tmp_path)], capsys
    )
    assert "use 1 to 1000" in line
    assert "--run is required" in one_line_error(["sample", "--n", "2"], capsys)


def test_missing_autoencoder_dir(tmp_path: Path, capsys) -> None:
    line = one_line_error(
        ["train", "--dims", "2", "--size", "32", "--autoencoder", str(tmp_path / "none"),
         "--out", str(tmp_path / "x")],
        capsys,
    )  # fmt: skip
    assert "autoencoder run" in line and "does not exist" in line


def test_bad_config_files(tmp_path: Path, capsys) -> None:
    line = one_line_error(["train", "--config", str(tmp_path / "none.yaml")], capsys)
    assert "does not exist" in line
    bad = tmp_path / "bad.yaml"
    bad.write_text("dims: [2\n")
    assert "not valid YAML" in one_line_error(["train", "--config", str(bad)], capsys)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("dims: 2\nsize: 32\nlearning_speed: 3\n")
    line = one_line_error(["train", "--config", str(unknown)], capsys)
    assert "learning_speed" in line
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    assert "mapping" in one_line_error(["sample", "--config", str(listy)], capsys)


def test_missing_data_path(tmp_path: Path, capsys) -> None:
    line = one_line_error(
        ["train-autoencoder", "--dims", "2", "--size", "32", "--data", str(tmp_path / "ct"),
         "--out", str(tmp_path / "x")],
        capsys,
    )  # fmt: skip
    assert str(tmp_path / "ct") in line


def test_sampling_is_reproducible_by_seed(trained_run: Path, tmp_path: Path, capsys) -> None:
    for name in ("a", "b"):
        code, _, err = run_main(
            ["sample", "--run", str(trained_run), "--steps", "2", "--seed", "7", "--no-png",
             "--out", str(tmp_path / name), "--no-progress"],
            capsys,
        )  # fmt: skip
        assert code == 0, err
    a = nib.load(str(tmp_path / "a" / "sample_00000.nii.gz")).get_fdata()
    b = nib.load(str(tmp_path / "b" / "sample_00000.nii.gz")).get_fdata()
    assert np.array_equal(a, b)
    assert not list((tmp_path / "a").glob("*.png"))


def test_single_process_commands_refuse_torchrun(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    line = one_line_error(
        ["train-autoencoder", "--dims", "2", "--size", "32", "--out", str(tmp_path)], capsys
    )
    assert "start it without torchrun" in line
    line = one_line_error(["sample", "--run", str(tmp_path), "--out", str(tmp_path)], capsys)
    assert "runs in one process" in line


def test_perceptual_weights_must_be_on_disk(tmp_path: Path, capsys) -> None:
    line = one_line_error(
        ["train-autoencoder", "--dims", "2", "--size", "32", "--out", str(tmp_path / "ae"),
         "--perceptual-weights", str(tmp_path / "resnet50.pt")],
        capsys,
    )  # fmt: skip
    assert "never downloads weights" in line


def test_a_mixed_run_says_which_part_is_which() -> None:
    from types import SimpleNamespace

    from lpm.cli.ldm_cmds import _provenance
    from lpm.provenance import Provenance

    mixed = SimpleNamespace(
        provenance=Provenance.MIXED,
        extra={"provenance_by_kind": {"gpu": "measured", "cpu": "estimated", "dram": "estimated"}},
    )
    assert _provenance(mixed) == "gpu measured; cpu, dram estimated"
    one = SimpleNamespace(provenance=Provenance.SIMULATED, extra={})
    assert _provenance(one) == "simulated"


def test_sample_evaluate_reports_quality_and_energy_per_useful_sample(
    trained_run: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "q"
    code, stdout, err = run_main(
        ["sample", "--run", str(trained_run), "--n", "4", "--steps", "2", "--sampler", "ddim",
         "--out", str(out), "--no-progress", "--no-png", "--evaluate", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(stdout)  # stdout holds only the JSON object
    quality = data["quality"]
    assert {"hu_wasserstein", "ms_ssim", "copy_rate", "frechet_distance"} <= set(quality["metrics"])
    for metric in quality["metrics"].values():
        low, high = metric["ci"]
        assert metric["n"] and (low <= high or low != low)  # NaN CI where resamples are equal
    rate = quality["copy_rate"]
    assert 0.0 <= rate <= 1.0 and rate == quality["metrics"]["copy_rate"]["value"]
    useful = 4 * (1.0 - rate)
    assert quality["useful_samples"] == pytest.approx(useful)
    if useful > 0:
        assert quality["it_energy_j_per_useful_sample"] == pytest.approx(
            data["it_energy_j"] / useful
        )
        assert quality["co2e_kg_per_useful_sample"] == pytest.approx(data["co2e_kg"] / useful)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quality"] == quality
    assert (out / "quality.json").exists() and (out / "quality.html").exists()


def test_sample_evaluate_prints_the_metrics_in_the_table(
    trained_run: Path, tmp_path: Path, capsys
) -> None:
    code, stdout, err = run_main(
        ["sample", "--run", str(trained_run), "--n", "4", "--steps", "2", "--sampler", "ddim",
         "--out", str(tmp_path / "t"), "--no-progress", "--no-png", "--evaluate"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    for row in ("hu_wasserstein", "copy rate", "energy / useful sample", "CO2e / useful sample"):
        assert row in stdout
    assert " HU [" in stdout  # value, unit and its 95 % CI


def test_sample_evaluate_with_too_few_samples_fails_before_sampling(
    trained_run: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "few"
    line = one_line_error(
        ["sample", "--run", str(trained_run), "--n", "2", "--steps", "2", "--out", str(out),
         "--evaluate", "--no-progress"],
        capsys,
    )  # fmt: skip
    assert "at least 4 samples" in line and "--n 2" in line
    assert not out.exists()  # nothing was sampled


def test_sample_evaluate_of_a_run_on_files_fails_before_sampling(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"data": str(tmp_path), "dims": 2, "n_items": 8}))
    line = one_line_error(
        ["sample", "--run", str(run), "--n", "4", "--out", str(tmp_path / "s"), "--evaluate"],
        capsys,
    )
    assert "did not train on phantoms" in line and "lpm evaluate" in line


def test_sample_evaluate_failing_after_sampling_keeps_the_samples(
    trained_run: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from lpm.errors import LpmError
    from lpm.ldm import features

    def refuse(*args, **kwargs):
        raise LpmError("mmd needs at least 4 generated images (got 3); give more images.")

    monkeypatch.setattr(features, "evaluate_samples_dir", refuse)
    out = tmp_path / "kept"
    line = one_line_error(
        ["sample", "--run", str(trained_run), "--n", "4", "--steps", "2", "--out", str(out),
         "--evaluate", "--no-progress", "--no-png"],
        capsys,
    )  # fmt: skip
    assert "mmd needs at least 4" in line and f"kept in {out}" in line
    assert len(list(out.glob("*.nii.gz"))) == 4


def test_sample_evaluate_of_a_run_on_too_few_phantoms_fails_before_sampling(
    tmp_path: Path, capsys
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"data": "phantom", "dims": 2, "n_items": 2}))
    line = one_line_error(
        ["sample", "--run", str(run), "--n", "8", "--out", str(tmp_path / "s"), "--evaluate"],
        capsys,
    )
    assert "at least 4 held-out phantoms" in line and "trained on 2" in line
    assert not (tmp_path / "s").exists()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_an_out_that_is_a_file_or_under_proc_is_one_line(
    trained_run: Path, tmp_path: Path, capsys
) -> None:
    afile = tmp_path / "afile"
    afile.write_bytes(b"\x00keep")
    for command in (["train", "--dims", "2", "--size", "32"],
                    ["train-autoencoder", "--dims", "2", "--size", "32"],
                    ["sample", "--run", str(trained_run), "--steps", "2"]):  # fmt: skip
        assert "is a file" in one_line_error([*command, "--out", str(afile)], capsys)
        line = one_line_error([*command, "--out", "/proc/lpm-out"], capsys)
        assert "does not take new files" in line
    assert afile.read_bytes() == b"\x00keep"


def test_sample_refuses_a_training_run_and_earlier_samples(
    trained_run: Path, tmp_path: Path, capsys
) -> None:
    before = _snapshot(trained_run)
    line = one_line_error(
        ["sample", "--run", str(trained_run), "--out", str(trained_run), "--steps", "2"], capsys
    )
    assert "holds a diffusion training run (`lpm train`)" in line
    assert _snapshot(trained_run) == before
    out = tmp_path / "s"
    sample = ["sample", "--run", str(trained_run), "--steps", "2", "--no-png", "--no-progress",
              "--out", str(out)]  # fmt: skip
    assert run_main(sample, capsys)[0] == 0
    samples = _snapshot(out)
    assert "--replace" in one_line_error(sample, capsys)
    assert _snapshot(out) == samples
    code, _, err = run_main([*sample, "--replace"], capsys)
    assert code == 0, err
    line = one_line_error(["train", "--dims", "2", "--size", "32", "--out", str(out)], capsys)
    assert "holds samples (`lpm sample`)" in line and "use another --out" in line
    line = one_line_error(
        ["train-autoencoder", "--dims", "2", "--size", "32", "--out", str(trained_run)], capsys
    )
    assert "holds a diffusion training run" in line and "None" not in line
    assert _snapshot(trained_run) == before


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, target: str, call: int) -> None:
    """Make TARGET raise KeyboardInterrupt on its CALL-th call (1-based), as Ctrl-C would."""
    module, name = target.rsplit(".", 1)
    real = getattr(__import__(module, fromlist=[name]), name)
    calls = {"n": 0}

    def hook(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(target, hook)


def _interrupted_line(argv: list[str], capsys) -> str:
    code, out, err = run_main(argv, capsys)
    assert code == 130, (out, err)
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted: "), err
    assert "Traceback" not in out + err
    return lines[0]


def _record_says_interrupted(folder: Path, prefix: str) -> None:
    from lpm.energy import read_run

    (record,) = folder.glob(f"{prefix}-2*.jsonl")
    summary = read_run(record)
    assert summary.status == "interrupted" and not summary.complete


def test_ctrl_c_in_train_says_where_to_resume_and_writes_no_summary(
    trained_run: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "ldm"
    argv = ["train", "--dims", "2", "--size", "32", "--autoencoder",
            str(trained_run / "autoencoder"), "--iterations", "5", "--checkpoint-every", "2",
            "--batch-size", "2", "--n-items", "4", "--out", str(out), "--no-progress",
            "--interval-s", "0.2"]  # fmt: skip
    with monkeypatch.context() as m:
        _interrupt_at(m, "lpm.ldm.diffusion.stage2_step", 3)
        line = _interrupted_line(argv, capsys)
    checkpoint = out / "checkpoints" / "last.pt"
    assert "stopped at iteration 2 of 5" in line
    assert f"checkpoint at {checkpoint} (iteration 2)" in line and "again to resume" in line
    assert not (out / "summary.json").exists() and not (out / "ldm.pt").exists()
    _record_says_interrupted(out, "train")
    code, shown, err = run_main(argv, capsys)  # the same command resumes
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_from"] == 2
    assert [row["start"] for row in summary["segments"]] == [0, 2]
    row = next(x for x in shown.splitlines() if "resumed" in x)
    assert "at iteration 2 (2 processes; energy: this one's)" in row


def test_ctrl_c_in_train_autoencoder_and_sample(
    trained_run: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    ae = tmp_path / "ae"
    _interrupt_at(monkeypatch, "lpm.ldm.autoencoder.stage1_step", 2)
    line = _interrupted_line(
        ["train-autoencoder", "--dims", "2", "--size", "32", "--iterations", "4",
         "--channels", "16", "--n-items", "2", "--out", str(ae), "--no-progress"],
        capsys,
    )  # fmt: skip
    assert "autoencoder training stopped at iteration 0 of 4" in line
    assert "no checkpoint was written yet" in line
    assert not (ae / "summary.json").exists()
    _record_says_interrupted(ae, "train-autoencoder")
    samples = tmp_path / "s"
    _interrupt_at(monkeypatch, "lpm.ldm.sampling.write_sample", 2)
    line = _interrupted_line(
        ["sample", "--run", str(trained_run), "--n", "3", "--batch-size", "3", "--steps", "2",
         "--no-png", "--out", str(samples), "--no-progress"],
        capsys,
    )  # fmt: skip
    assert f"sampling stopped after 1 of 3 samples in {samples}" in line and "--replace" in line
    assert not (samples / "summary.json").exists()
    _record_says_interrupted(samples, "sample")


def _free_memory(monkeypatch: pytest.MonkeyPatch, gib: float) -> None:
    """Pretend this machine is a CPU with GIB of free RAM."""
    for module in ("lpm.ldm.memory", "lpm.ldm.world"):
        monkeypatch.setattr(f"{module}.available_bytes", lambda device: int(gib * 2**30))
        monkeypatch.setattr(f"{module}.run_device", lambda: "cpu")


def test_a_run_that_cannot_fit_is_refused_at_once_with_what_fits(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    _free_memory(monkeypatch, 24)
    out = tmp_path / "big"
    started = time.perf_counter()
    line = one_line_error(["train", "--dims", "2", "--size", "10000", "--out", str(out)], capsys)
    assert time.perf_counter() - started < 1.0
    assert "training the autoencoder needs about" in line and "24.0 GiB of RAM is free" in line
    assert "--batch-size 1 --size " in line and "--no-memory-check" in line
    assert not out.exists()
    line = one_line_error(
        ["train-autoencoder", "--dims", "3", "--size", "512", "--out", str(out)], capsys
    )
    assert "--size " in line and not out.exists()


def test_dry_run_prints_the_settings_and_the_estimate_and_writes_nothing(
    trained_run: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    _free_memory(monkeypatch, 8)
    out = tmp_path / "dry"
    code, stdout, err = run_main(
        ["train", "--dims", "2", "--size", "64", "--out", str(out), "--dry-run"], capsys
    )
    assert code == 0, err
    assert "--dry-run: nothing written" in stdout and "memory: activations" in stdout
    assert "8.0 GiB: fits" in stdout and "autoencoder_iterations" in stdout
    code, stdout, err = run_main(
        ["sample", "--run", str(trained_run), "--out", str(out), "--dry-run", "--json"], capsys
    )
    assert code == 0, err
    data = json.loads(stdout)
    assert data["dry_run"] and data["config"]["run"] == str(trained_run)
    assert data["memory"]["stage"] == "sampling" and data["memory"]["free_bytes"] == 8 * 2**30
    assert data["memory"]["bytes"] == sum(data["memory"]["parts"].values())
    assert not out.exists()
    _free_memory(monkeypatch, 0.01)
    line = one_line_error(
        ["train-autoencoder", "--dims", "2", "--size", "64", "--out", str(out), "--dry-run"],
        capsys,
    )
    assert "needs about" in line and not out.exists()
    line = one_line_error(
        ["sample", "--run", str(tmp_path / "none"), "--out", str(out), "--dry-run"], capsys
    )
    assert "no trained model" in line
