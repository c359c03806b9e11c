"""``lpm integrations``: which training frameworks lpm can measure here (lpm.integrations)."""

from __future__ import annotations

import json

import typer

from lpm.errors import LpmError

integrations_app = typer.Typer(
    help="Training frameworks lpm hooks into (MONAI/Ignite, Lightning, Hugging Face, loggers).",
    invoke_without_command=True,
)


def _show(items: list, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"integrations": [s.to_dict() for s in items]}, indent=2))
        return
    width = max(len(s.name) for s in items)
    for s in items:
        if s.installed:
            state = f"{s.version or '?':<10}"
            tail = s.hook
        else:
            state = f"{'missing':<10}"
            tail = f"pip install {s.pip}"
        typer.echo(f"{s.name:<{width}}  {state}  {tail}")


@integrations_app.callback()
def integrations(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List the frameworks lpm.integrations supports, and which are installed."""
    if ctx.invoked_subcommand is None:
        from lpm.integrations import statuses

        _show(statuses(), as_json)


@integrations_app.command("check")
def check(
    name: str | None = typer.Argument(None, help="One framework, e.g. lightning (none: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check one framework (exit 2 with the pip command when it is missing), or list all."""
    from lpm.integrations import status, statuses
    from lpm.integrations.frameworks import missing

    if name is None:
        _show(statuses(), as_json)
        return
    found = status(name.strip().lower())
    if not found.installed:
        raise LpmError(str(missing(found.name, f"the {found.name} integration")))
    _show([found], as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(integrations_app, name="integrations")
