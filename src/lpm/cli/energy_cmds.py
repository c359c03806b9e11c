"""CLI of lpm.energy: ``lpm track``, ``lpm runs show|export``, ``lpm hardware``."""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import typer

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION
from lpm.errors import LpmError
from lpm.provenance import Provenance


def _component_rows(summary: Any) -> list[dict]:
    return [
        {
            "name": c.name,
            "kind": c.kind,
            "energy_kwh": c.energy_kwh,
            "energy_j": c.energy_j,
            "mean_power_w": c.mean_power_w,
            "provenance": c.provenance.value,
            "estimated": c.provenance.is_estimated,
        }
        for c in summary.components
    ]


def _summary_json(summary: Any) -> dict:
    fp = summary.footprint
    return {
        "run_id": summary.run_id,
        "status": summary.status,
        "complete": summary.complete,
        "duration_s": summary.duration_s,
        "it_energy_kwh": summary.it_energy_kwh,
        "facility_energy_kwh": summary.facility_energy_kwh,
        "co2e_kg": summary.co2e_kg,
        "pue": fp.pue,
        "region": fp.intensity.region,
        "carbon_intensity_g_per_kwh": fp.intensity.g_per_kwh,
        "intensity": fp.intensity.to_dict(),
        "provenance": summary.provenance.value,
        "provenance_by_kind": {k: v.value for k, v in summary.provenance_by_kind.items()},
        "provenance_parts": summary.describe_provenance(),
        "estimated": summary.provenance.is_estimated,
        "components": _component_rows(summary),
        "windows": summary.windows,
        "steps": summary.steps,
        "equivalents": fp.equivalents.to_dict(),
        "faults": summary.faults,
        "run_record": summary.path,
    }


def _print_summary(summary: Any, *, err: bool) -> None:
    def out(line: str = "") -> None:
        typer.echo(line, err=err)

    width = max([len(c.name) for c in summary.components] + [9])
    for c in summary.components:
        out(
            f"  {c.name:<{width}}  {c.kind:<4}  {c.energy_kwh:10.4g} kWh  "
            f"{c.mean_power_w:8.4g} W  {c.provenance.value}"
        )
    if not summary.components:
        out("  (no device was measured)")
    else:
        out(f"  energy is {summary.provenance.value}: {summary.describe_provenance()}")
    if summary.windows:
        out("  windows:")
        for name, w in summary.windows.items():
            prov = w.get("provenance")
            if prov is None:
                prov = Provenance.parse(w.get("estimated")).value
            out(
                f"    {name}: {w['count']} x, {w['duration_s']:.2f} s, {w['steps']} steps, "
                f"{w['energy_kwh']:.4g} kWh, {w['mean_power_w']:.4g} W, {prov}"
            )
    out(f"  {summary.footprint.sentence()}")
    for f in summary.faults:
        out(f"  note: {f}")
    if summary.path:
        out(f"  run record: {summary.path}")


def track(
    command: list[str] = typer.Argument(
        None, help="The command to run and measure, after `--`.", show_default=False
    ),
    pue: float = typer.Option(DEFAULT_PUE, "--pue", help="Power usage effectiveness (>= 1)."),
    region: str = typer.Option(DEFAULT_REGION, "--region", help="Grid region (e.g. DE, EU27)."),
    interval: float = typer.Option(1.0, "--interval", help="Sampling interval in seconds."),
    checkpoint: float = typer.Option(
        10.0, "--checkpoint", help="Seconds between totals written to the run record."
    ),
    log_dir: Path | None = typer.Option(None, "--log-dir", help="Write a run record here."),
    run_name: str | None = typer.Option(None, "--run-name", help="Name in the run id."),
    cpu_scope: str = typer.Option(
        "process", "--cpu-scope", help="Estimate CPU/DRAM for 'process' tree or 'machine'."
    ),
    simulate_cpu_watts: float | None = typer.Option(
        None, "--simulate-cpu-watts", help="Simulate one CPU drawing W (only simulated devices)."
    ),
    simulate_gpus: int = typer.Option(0, "--simulate-gpus", help="Simulate N GPUs."),
    simulate_gpu_watts: float | None = typer.Option(
        None, "--simulate-gpu-watts", help="Watts of each simulated GPU."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> int:
    """Run COMMAND, measure it and its children, print energy and CO2e; exit with its code."""
    from lpm.energy import Tracker, detect

    if not command:
        raise LpmError("give the command to measure after --, e.g. `lpm track -- python train.py`")
    if cpu_scope not in ("process", "machine"):
        raise LpmError(f"--cpu-scope must be 'process' or 'machine', not {cpu_scope!r}")
    if shutil.which(command[0]) is None:
        raise LpmError(f"command not found: {command[0]!r}; check its name or your PATH")
    detection = detect(
        simulate_cpu_watts=simulate_cpu_watts,
        simulate_gpus=simulate_gpus,
        simulate_gpu_watts=simulate_gpu_watts,
        cpu_scope=cpu_scope,
    )
    tracker = Tracker(
        detection.meters,
        interval_s=interval,
        log_dir=log_dir,
        run_name=run_name,
        pue=pue,
        region=region,
        cpu_scope=cpu_scope,
        checkpoint_s=checkpoint,
    )
    tracker.start()
    for notice in detection.notices:
        typer.echo(f"note: {notice}", err=True)
        tracker.note(notice)
    previous: dict[int, Any] = {}
    try:
        proc = subprocess.Popen(command)
    except OSError as exc:
        tracker.stop()
        raise LpmError(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
    for meter in detection.meters:  # see the child at once, not at the next process scan
        meter.track_pids([proc.pid])

    def forward(signum: int, _frame: Any) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    # Ctrl-C reaches the child from the terminal; lpm waits for it to finish and reports.
    for sig, handler in ((signal.SIGINT, signal.SIG_IGN), (signal.SIGTERM, forward)):
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            previous[sig] = signal.signal(sig, handler)
    try:
        rc = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        summary = tracker.stop()
    exit_code = rc if rc >= 0 else 128 - rc
    if as_json:
        data = _summary_json(summary)
        data = {"command": command, "exit_code": exit_code, **data}
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(
            f"lpm track: `{shlex.join(command)}` exited with {exit_code} after "
            f"{summary.duration_s:.2f} s",
            err=True,
        )
        _print_summary(summary, err=True)
    return exit_code


runs_app = typer.Typer(help="Run records: show and export.", no_args_is_help=True)


@runs_app.command("show")
def runs_show(
    path: Path = typer.Argument(..., help="A run record (.jsonl) or a folder of them."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Summarise a finished or interrupted run."""
    from lpm.energy import read_run

    summary = read_run(path)
    if as_json:
        typer.echo(json.dumps(_summary_json(summary), indent=2))
        return
    typer.echo(
        f"run {summary.run_id}: {summary.status}, {summary.duration_s:.2f} s, {summary.steps} steps"
    )
    _print_summary(summary, err=False)


@runs_app.command("export")
def runs_export(
    path: Path = typer.Argument(..., help="A run record (.jsonl) or a folder of them."),
    csv: Path = typer.Option(..., "--csv", help="CodeCarbon-style emissions.csv to append to."),
    project_name: str = typer.Option("lpm", "--project-name", help="project_name column."),
) -> None:
    """Append a run to a CodeCarbon-compatible emissions.csv."""
    from lpm.energy import export_codecarbon_csv, read_run

    summary = read_run(path)
    out = export_codecarbon_csv(summary, csv, project_name=project_name)
    typer.echo(f"appended run {summary.run_id} to {out}")


def hardware(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    cpu_scope: str = typer.Option("process", "--cpu-scope", help="'process' or 'machine'."),
    powercap_root: Path = typer.Option(
        Path("/sys/class/powercap"), "--powercap-root", help="Where RAPL zones live."
    ),
) -> None:
    """What was detected, which meters measure and which estimate, and why."""
    from lpm.energy import cpu_power_model, detect

    if cpu_scope not in ("process", "machine"):
        raise LpmError(f"--cpu-scope must be 'process' or 'machine', not {cpu_scope!r}")
    d = detect(cpu_scope=cpu_scope, powercap_root=powercap_root)
    model = cpu_power_model()
    if as_json:
        data = {
            "components": [i.to_dict() for i in d.items],
            "cpu_power_model": model.to_dict(),
            "meters": [m.describe() for m in d.meters],
            "notices": d.notices,
        }
        typer.echo(json.dumps(data, indent=2))
        return
    for i in d.items:
        status = i.provenance.value if i.provenance is not None else "none"
        typer.echo(f"{i.component:<4}  {status:<9}  {i.meter}")
        typer.echo(f"      {i.reason}")
    typer.echo(
        f"cpu model: {model.model_name or 'unknown'}; {model.w_per_core:g} W per core, "
        f"{model.threads_per_core:g} threads per core, idle share {model.idle_fraction:g}"
    )
    for n in d.notices:
        typer.echo(f"note: {n}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command(
        name="track",
        context_settings={"allow_interspersed_args": False, "ignore_unknown_options": False},
    )(track)
    app.add_typer(runs_app, name="runs")
    app.command(name="hardware")(hardware)
