"""docs/integrations.md: its four examples run as written, and their records read back."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path

import pytest

from lpm.energy import read_run
from tests.cli_run import run_cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
NEEDS = {
    "monai": ("ignite",),
    "lightning": ("lightning",),
    "huggingface": ("transformers", "accelerate"),
    "loggers": ("ignite", "mlflow", "wandb", "tensorboard"),
}


def test_the_doc_has_the_four_examples() -> None:
    assert len(BLOCKS) == 4
    for name, block in zip(NEEDS, BLOCKS, strict=True):
        assert f'run_name="{name}"' in block


@pytest.mark.parametrize("name", list(NEEDS))
def test_example_runs_as_written_and_its_record_shows(name, tmp_path, monkeypatch, capsys):
    for module in NEEDS[name]:
        pytest.importorskip(module)
    block = BLOCKS[list(NEEDS).index(name)]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "false")  # restored after; the example sets it
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")  # mlflow writes it: restored after
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(block, f"docs/integrations.md ({name})", "exec"), {"__name__": name})
    finally:
        if name == "loggers":
            import mlflow

            mlflow.set_tracking_uri(None)  # back to the environment's (it sets the variable)
    assert f"predicted whole run ({'ignite' if name in ('monai', 'loggers') else name})" in (
        printed.getvalue()
    )

    (record,) = (tmp_path / "runs" / "energy").glob(f"{name}-*.jsonl")
    run = read_run(record)
    assert run.status == "finished" and run.steps > 0
    assert run.windows["train"]["count"] >= 2
    prediction = run.context["integration"]["prediction"]
    assert prediction["n"] == run.windows["train"]["steps"]
    assert prediction["energy_kwh_mean"] > 0

    capsys.readouterr()
    code, out, _ = run_cli(["runs", "show", str(record)], capsys)
    assert code == 0 and "train: " in out and "note: predicted whole run" in out
    code, out, _ = run_cli(["runs", "show", str(record), "--json"], capsys)
    assert code == 0 and json.loads(out)["steps"] == run.steps
    code, out, _ = run_cli(["runs", "export", str(record), "--csv", "emissions.csv"], capsys)
    assert code == 0
    with open("emissions.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert row["run_id"] == run.run_id and float(row["energy_consumed"]) > 0


def test_the_bundle_snippet_parses_to_one_shared_handler(tmp_path) -> None:
    pytest.importorskip("ignite")
    from monai.bundle import ConfigParser

    from lpm.integrations.ignite import EnergyHandler

    (snippet,) = re.findall(r"```json\n(.*?)```", DOC.read_text(), flags=re.S)
    config = {"bundle_root": str(tmp_path), **json.loads(snippet)}
    parser = ConfigParser(config)
    (train,) = parser.get_parsed_content("train#handlers")
    (validate,) = parser.get_parsed_content("validate#handlers")
    assert isinstance(train, EnergyHandler) and train is validate
    assert train.session._settings["log_dir"] == f"{tmp_path}/runs/energy"
