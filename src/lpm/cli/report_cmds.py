"""CLI commands of lpm.report (filled in by its owner)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
