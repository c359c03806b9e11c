"""lpm.cli.options: every setting of a pydantic model is a flag, declared once, as its field.

The parity tests hold for every command built from a model: the ldm commands (with
``--config``) and ``lpm study`` (its run settings, besides the spec and the directory).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import typer
import typer.main
from pydantic import BaseModel, Field

from lpm.cli.main import app
from lpm.cli.options import flag, from_config, from_model


def _model(where: str) -> type[BaseModel]:
    module, name = where.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(
    ("command", "model", "own"),
    [
        ("train-autoencoder", "lpm.ldm.config.AutoencoderConfig", {"--config", "--dry-run"}),
        ("train", "lpm.ldm.config.TrainConfig", {"--config", "--dry-run"}),
        ("sample", "lpm.ldm.config.SampleConfig", {"--config", "--json", "--dry-run"}),
        ("study", "lpm.study.spec.StudyRun", {"spec_file", "--preset", "--out", "--dry-run"}),
    ],
)
def test_every_field_is_a_flag_and_every_flag_a_field(
    command: str, model: str, own: set[str]
) -> None:
    fields = _model(model).model_fields
    params = typer.main.get_command(app).commands[command].params
    flags = {opt for p in params for opt in p.opts}
    assert flags == {"--" + name.replace("_", "-") for name in fields} | own
    helps = {p.opts[0]: p.help for p in params}
    for name, field in fields.items():
        assert field.description and helps["--" + name.replace("_", "-")] == field.description


def test_a_new_field_is_one_edit_in_the_model() -> None:
    from lpm.ldm import SampleConfig

    class Extended(SampleConfig):
        guidance_scale: float = Field(1.0, ge=0, description="Classifier-free guidance.")

    seen: dict[str, object] = {}
    cli = typer.Typer()

    @cli.command()
    @from_config(Extended)
    def cmd(config: Path | None = None, **flags: object) -> None:
        seen.update(flags)

    cli(["--guidance-scale", "2.5", "--no-png"], standalone_mode=False)
    assert seen["guidance_scale"] == 2.5 and seen["png"] is False and seen["n"] is None
    (param,) = [p for p in typer.main.get_command(cli).params if p.name == "guidance_scale"]
    assert param.opts == ["--guidance-scale"] and param.help == "Classifier-free guidance."


def test_the_ldm_commands_still_export_from_config() -> None:
    from lpm.cli import ldm_cmds

    assert ldm_cmds.from_config is from_config


class _Run(BaseModel):
    workers: int = Field(1, ge=1, description="How many at once.")
    fast: bool = Field(False, description="Go fast.")


def test_a_command_keeps_its_own_parameters_before_the_models() -> None:
    seen: dict[str, object] = {}
    cli = typer.Typer()

    @cli.command()
    @from_model(_Run)
    def cmd(
        name: str = typer.Argument(...), out: str = typer.Option("o", "--out"), **flags: object
    ) -> None:
        seen.update(name=name, out=out, **flags)

    cli(["x", "--fast"], standalone_mode=False)
    assert seen == {"name": "x", "out": "o", "workers": None, "fast": True}
    names = [p.name for p in typer.main.get_command(cli).params]
    assert names[:4] == ["name", "out", "workers", "fast"]
    (fast,) = [p for p in typer.main.get_command(cli).params if p.name == "fast"]
    assert fast.secondary_opts == ["--no-fast"]


def test_a_parameter_that_is_also_a_field_is_refused() -> None:
    def cmd(workers: int = 1, **flags: object) -> None: ...

    with pytest.raises(TypeError, match="workers"):
        from_model(_Run)(cmd)


def test_a_field_named_config_is_refused_where_config_is_a_flag() -> None:
    class Bad(BaseModel):
        config: str = "x"

    def cmd(config: Path | None = None, **flags: object) -> None: ...

    with pytest.raises(TypeError, match="config"):
        from_config(Bad)(cmd)


def test_flag_names() -> None:
    assert flag("batch_size") == "--batch-size" and flag("n") == "--n"
