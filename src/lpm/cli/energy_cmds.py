"""CLI commands of lpm.energy (filled in by its owner)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
