"""Typer options generated from pydantic models: each setting is declared once, as a field.

A command decorated with :func:`from_model` gets one flag per field of the model: named
after the field (``batch_size`` -> ``--batch-size``, a bool as ``--x/--no-x``), typed by
its annotation, described by its ``description`` and showing its default. Every generated
flag defaults to None (not given), so the command can tell a flag that was given from a
default and the model, not the CLI, supplies the defaults and checks the values.
:func:`from_config` adds ``--config FILE`` for commands whose settings may come from YAML.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import typer
from pydantic import BaseModel

CONFIG_HELP = "YAML file with settings (field names as in the docs); flags override it."

Command = Callable[..., None]


def flag(name: str) -> str:
    """The command-line flag of a field: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def _cli_type(annotation: Any) -> type:
    """The type typer parses a field's flag as; the model validates the value afterwards."""
    origin = get_origin(annotation)
    args = [a for a in get_args(annotation) if a is not type(None)]
    if origin is Literal:
        return type(args[0])
    if origin in (Union, types.UnionType) and len(args) == 1:
        return _cli_type(args[0])
    if origin is tuple:
        return str  # e.g. a size "256x256x192", parsed by the model
    if annotation in (bool, int, float, str, Path):
        return annotation
    raise TypeError(f"no command-line type for a field of type {annotation!r}")


def _shown_default(name: str, kind: type, default: Any) -> str | bool:
    if default is None:
        return False
    if kind is bool:
        return f"--{'' if default else 'no-'}{name.replace('_', '-')}"
    if isinstance(default, tuple):
        return "x".join(map(str, default))
    return str(default)


def _field_order(model: type[BaseModel]) -> list[str]:
    """MODEL's fields, its own first and then those of its bases (e.g. tracking last)."""
    names = [n for cls in model.__mro__ for n in vars(cls).get("__annotations__", {})]
    return [n for n in dict.fromkeys(names) if n in model.model_fields]


def model_options(model: type[BaseModel]) -> list[inspect.Parameter]:
    """One keyword-only typer option per field of MODEL, in the model's order."""
    params = []
    for name in _field_order(model):
        field = model.model_fields[name]
        kind = _cli_type(field.annotation)
        decl = f"{flag(name)}/--no-{flag(name)[2:]}" if kind is bool else flag(name)
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        option = typer.Option(
            None, decl, help=field.description, show_default=_shown_default(name, kind, default)
        )
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
        )
    return params


def config_option() -> inspect.Parameter:
    """The ``--config FILE`` option (a YAML file of the same settings)."""
    option = typer.Option(None, "--config", help=CONFIG_HELP)
    return inspect.Parameter(
        "config", inspect.Parameter.KEYWORD_ONLY, default=option, annotation=Path
    )


def config_options(model: type[BaseModel]) -> list[inspect.Parameter]:
    """One typer option per field of MODEL, plus ``--config``."""
    if "config" in model.model_fields:
        raise TypeError(f"{model.__name__} may not have a field named 'config'")
    return [*model_options(model), config_option()]


def from_model(
    model: type[BaseModel], *, config_file: bool = False
) -> Callable[[Command], Command]:
    """Give a command ``fn(<its own parameters>, **flags)`` the flags of MODEL's fields.

    The command's own parameters (arguments, options that are no setting) come first and
    keep their declarations; with `config_file`, ``--config`` is added and replaces the
    command's own ``config`` parameter.
    """

    def wrap(fn: Command) -> Command:
        own = [
            p
            for p in inspect.signature(fn, eval_str=True).parameters.values()
            if p.kind is not p.VAR_KEYWORD and not (config_file and p.name == "config")
        ]
        generated = config_options(model) if config_file else model_options(model)
        clash = {p.name for p in own} & {p.name for p in generated}
        if clash:
            raise TypeError(f"{fn.__name__} declares {sorted(clash)} that {model.__name__} has")
        fn.__signature__ = inspect.Signature([*own, *generated])  # type: ignore[attr-defined]
        return fn

    return wrap


def from_config(model: type[BaseModel]) -> Callable[[Command], Command]:
    """Give a command ``fn(config, **flags)`` the flags of MODEL's fields and ``--config``."""
    return from_model(model, config_file=True)


def given(flags: dict[str, Any]) -> dict[str, Any]:
    """The flags that were given on the command line (a generated flag not given is None)."""
    return {k: v for k, v in flags.items() if v is not None}
