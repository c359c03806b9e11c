"""Entry point of the `lpm` console script.

Each command group lives in its own module with a ``register(app)`` function. User
errors (``LpmError``, pydantic validation errors, bad parameters) print one line and exit
with code 2, never a traceback.
"""

from __future__ import annotations

import logging
import sys

import typer

from lpm.errors import LpmError

app = typer.Typer(
    name="lpm",
    help="Latent Pollution Model: energy and CO2e of 2D/3D latent diffusion on CT.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        from lpm import __version__

        typer.echo(f"lpm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=_version_callback,
        is_eager=True,
    ),
) -> None:
    """Latent Pollution Model: energy and CO2e of 2D/3D latent diffusion on CT."""


def _register_commands() -> None:
    from lpm.cli import carbon_cmds, energy_cmds, ldm_cmds, report_cmds, study_cmds

    for module in (carbon_cmds, energy_cmds, ldm_cmds, study_cmds, report_cmds):
        module.register(app)
    from lpm.cli import quality_cmds  # lpm evaluate

    quality_cmds.register(app)
    from lpm.cli import tradeoff_cmds  # lpm tradeoff

    tradeoff_cmds.register(app)
    from lpm.cli import plan_cmds  # lpm plan

    plan_cmds.register(app)
    from lpm.cli import integrations_cmds  # lpm integrations

    integrations_cmds.register(app)


_register_commands()


def fail(message: str) -> None:
    """Print a one-line user error to stderr and exit with code 2."""
    one_line = " ".join(str(message).split())
    typer.echo(f"error: {one_line}", err=True)
    raise SystemExit(2)


def _setup_logging() -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    # logs are for people: stderr, so that --json output on stdout stays JSON
    handler = RichHandler(
        console=Console(stderr=True), show_path=False, show_time=False, markup=False
    )
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s")


def _path_error(exc: OSError) -> str:
    """One line for an OSError about a path: which path, what the system said, what to do."""
    name = str(exc.filename)
    shown = name if len(name) <= 80 else f"{name[:40]}...({len(name)} characters)"
    reason = exc.strerror or type(exc).__name__
    return f"cannot use {shown!r}: {reason}; give another path"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; map user errors to one line and exit code 2."""
    _setup_logging()
    from typer.exceptions import Abort, TyperException

    try:
        rc = app(args=argv, standalone_mode=False)
    except LpmError as exc:
        fail(str(exc))
    except TyperException as exc:  # usage errors and bad parameters
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        fail(f"{exc.format_message()}{hint}")
    except OSError as exc:  # a path the system refused: one line, never a traceback
        if exc.filename is None:
            raise
        fail(_path_error(exc))
    except Abort:
        typer.echo("aborted", err=True)
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None
    if rc == 130:  # typer turns a Ctrl-C in a command into exit code 130, silently
        typer.echo("interrupted", err=True)
    if isinstance(rc, int) and rc != 0:
        raise SystemExit(rc)


if __name__ == "__main__":
    main(sys.argv[1:])
