"""Frameworks are optional: nothing imported up front; a missing one is one line with pip."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lpm.errors import LpmError
from lpm.integrations import FRAMEWORKS, status
from tests.cli_run import one_line_error, run_cli

HEAVY = ("ignite", "lightning", "pytorch_lightning", "transformers", "mlflow", "wandb", "torch")


def test_importing_every_integration_imports_no_framework() -> None:
    code = (
        "import sys, lpm.integrations, lpm.integrations.ignite, lpm.integrations.lightning, "
        "lpm.integrations.huggingface, lpm.integrations.loggers, lpm.integrations.session; "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _hide(monkeypatch, *modules: str) -> None:
    for m in modules:  # find_spec and import see a module set to None as absent
        monkeypatch.setitem(sys.modules, m, None)


def test_lpm_integrations_lists_each_framework(capsys) -> None:
    code, out, _ = run_cli(["integrations"], capsys)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(FRAMEWORKS)
    code, out, _ = run_cli(["integrations", "check", "--json"], capsys)
    data = json.loads(out)["integrations"]
    assert code == 0 and [d["name"] for d in data] == list(FRAMEWORKS)
    assert all(d["install"].startswith("pip install ") for d in data)


def test_check_an_installed_framework(capsys) -> None:
    pytest.importorskip("ignite")
    code, out, _ = run_cli(["integrations", "check", "ignite", "--json"], capsys)
    (item,) = json.loads(out)["integrations"]
    assert code == 0 and item["installed"] and item["version"]


@pytest.mark.parametrize(
    ("name", "hidden", "pip"),
    [
        ("lightning", ("lightning.pytorch", "pytorch_lightning"), "pip install lightning"),
        ("huggingface", ("accelerate",), "pip install transformers accelerate"),
        ("wandb", ("wandb",), "pip install wandb"),
        ("ignite", ("ignite",), "pip install pytorch-ignite"),
    ],
)
def test_check_a_missing_framework_is_one_line_exit_2(monkeypatch, capsys, name, hidden, pip):
    _hide(monkeypatch, *hidden)
    assert not status(name).installed
    line = one_line_error(["integrations", "check", name], capsys)
    assert name in line and pip in line
    code, out, _ = run_cli(["integrations"], capsys)  # the list still works
    assert code == 0 and f"missing     {pip}" in out


def test_unknown_integration_is_one_line(capsys) -> None:
    assert "unknown integration 'keras'" in one_line_error(
        ["integrations", "check", "keras"], capsys
    )


def test_using_a_missing_framework_raises_lpm_error_with_pip(monkeypatch) -> None:
    import lpm.integrations.huggingface as hf
    import lpm.integrations.lightning as pl
    from lpm.integrations.ignite import EnergyHandler

    monkeypatch.setattr(pl, "_CLASSES", {})
    monkeypatch.setattr(hf, "_CLASS", [])
    _hide(monkeypatch, "lightning.pytorch", "pytorch_lightning", "transformers", "ignite.engine")
    with pytest.raises(LpmError, match="pip install lightning"):
        from lpm.integrations.lightning import EnergyCallback  # noqa: F401
    with pytest.raises(LpmError, match="pip install transformers accelerate"):
        hf.callback_class()
    with pytest.raises(LpmError, match="pip install pytorch-ignite"):
        EnergyHandler().attach(object())
