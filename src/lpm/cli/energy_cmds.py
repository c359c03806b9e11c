"""CLI of lpm.energy: ``lpm track``, ``lpm runs show|export``, ``lpm hardware``."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import threading
from collections.abc import Callable
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


SI_KERNEL = 0x80
"""siginfo ``si_code`` of a signal the kernel sent: a terminal's Ctrl-C (to its whole group)."""
_FORWARDED = (signal.SIGINT, signal.SIGTERM)
_INTERRUPTS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL, signal.SIGQUIT}


def forwards(signo: int, si_code: int) -> bool:
    """Whether ``lpm track`` passes a signal it got on to its command: all but a SIGINT
    the kernel sent (a terminal's Ctrl-C, which the command's process group got too)."""
    return not (signo == signal.SIGINT and si_code == SI_KERNEL)


class _Forwarder:
    """Passes SIGINT and SIGTERM sent to ``lpm track`` on to its command, each once.

    Both are blocked in lpm's threads (from before the Tracker starts its own) and taken by
    one thread with ``sigtimedwait``, which says who sent each: a terminal's Ctrl-C
    (``SI_KERNEL``) reached the command through the process group already and is not sent
    again; a signal sent to lpm alone (``kill``, a scheduler) is passed on. The command
    decides what to do; lpm waits for it and reports. Outside the main thread signals
    are left alone.
    """

    def __init__(self, note: Callable[[str], None]) -> None:
        self._note = note  # a line in the run's notes for each kind of signal
        self.active = threading.current_thread() is threading.main_thread()
        self.received: list[int] = []
        self._pid = 0
        self._mask: set[int] | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def block(self) -> None:
        if self.active:
            self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)

    @property
    def child_mask(self) -> set[int]:
        """The signal mask lpm had before :meth:`block`: the command's."""
        if self._mask is not None:
            return self._mask
        return signal.pthread_sigmask(signal.SIG_BLOCK, [])

    def start(self, pid: int) -> None:
        self._pid = pid
        if self._mask is not None:
            self._thread = threading.Thread(target=self._loop, name="lpm-track-signals")
            self._thread.daemon = True
            self._thread.start()

    def _loop(self) -> None:
        while not self._done.is_set():
            info = signal.sigtimedwait(_FORWARDED, 0.05)
            if info is None:
                continue
            self.received.append(info.si_signo)
            name = signal.Signals(info.si_signo).name
            if not forwards(info.si_signo, info.si_code):
                self._note(f"{name} from the terminal reached the command itself; lpm waited")
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, info.si_signo)
            self._note(f"{name} sent to lpm was passed on to the command")

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def restore(self) -> None:
        """Unblock, after taking what came in meanwhile (lpm no longer waits for a command)."""
        self.stop()
        if self._mask is not None:
            while signal.sigtimedwait(_FORWARDED, 0) is not None:
                pass
            signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
            self._mask = None


def _track_status(rc: int | None, signalled: bool) -> str:
    """The run's status from the command's exit code (None: lpm stopped waiting).

    0 is finished; death by (or the shell's 128 + N for) SIGINT, SIGTERM, SIGHUP, SIGKILL
    or SIGQUIT, or any non-zero end after lpm was signalled, is interrupted; else failed.
    """
    if rc == 0:
        return "finished"
    if rc is None or signalled or -rc in _INTERRUPTS or rc - 128 in _INTERRUPTS:
        return "interrupted"
    return "failed"


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
    signals = _Forwarder(tracker.note)
    signals.block()  # before the Tracker starts its threads, so that they block them too
    try:
        tracker.start()
        for notice in detection.notices:
            typer.echo(f"note: {notice}", err=True)
            tracker.note(notice)
        try:
            pid = os.posix_spawnp(
                command[0],
                command,
                os.environ,
                setsigmask=signals.child_mask,
                setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),  # as subprocess does
            )
        except OSError as exc:
            tracker.stop(status="failed")
            raise LpmError(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
        for meter in detection.meters:  # see the child at once, not at the next process scan
            meter.track_pids([pid])
        signals.start(pid)
        rc: int | None = None
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped
            signals.stop()  # forward nothing more while the pid is still the command's
            rc = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        finally:
            signals.stop()
            summary = tracker.stop(status=_track_status(rc, bool(signals.received)))
    finally:
        signals.restore()
    assert rc is not None
    exit_code = rc if rc >= 0 else 128 - rc
    if as_json:
        data = _summary_json(summary)
        data = {"command": command, "exit_code": exit_code, **data}
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(
            f"lpm track: `{shlex.join(command)}` exited with {exit_code} after "
            f"{summary.duration_s:.2f} s ({summary.status})",
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
