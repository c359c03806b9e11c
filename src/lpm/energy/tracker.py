"""The Tracker: one sampler thread, named windows, step marks, crash-safe run records.

Energy comes from counter deltas summed over devices. Each reading of the meters closes a
segment; a segment's energy goes to every open window and its power (energy / time) to the
per-step power statistics. Windows take a reading at both edges, so their energy does not
depend on the sampling interval. State is bounded: running sums per window name and per
device, never lists that grow with the run.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION, footprint
from lpm.energy import distributed
from lpm.energy._stats import RunningStats
from lpm.energy.context import collect_context
from lpm.energy.reading import Meter, Reading
from lpm.energy.record import SCHEMA, RecordWriter
from lpm.energy.results import J_PER_KWH, ComponentEnergy, RunSummary, StepStats
from lpm.errors import LpmError

log = logging.getLogger("lpm.energy")

ALL_STEPS = "*"  # step statistics over every step of the run
EARLY_KEEP = 1024  # per window name: first step durations kept so warm-up can change later
MAX_FAULTS = 100
MIN_SEGMENT_S = 1e-3
READ_TIMEOUT_S = 10.0  # longest wait for a meter read in progress at a window edge


@dataclass
class _Device:
    key: str
    name: str
    kind: str
    meter: int
    index: int
    last_j: float = 0.0
    total_j: float = 0.0
    estimated: bool = False


@dataclass
class _MeterState:
    meter: Meter
    failing: bool = False
    dropped: bool = False
    last_t: float = 0.0


@dataclass
class _Group:
    """Step and power statistics of one window name (or of all steps)."""

    steps: int = 0
    steps_at_last_sample: int = 0
    durations: RunningStats = field(default_factory=RunningStats)
    early_durations: list[float] = field(default_factory=list)
    power: RunningStats = field(default_factory=RunningStats)
    # power of the segments that started after step s (s < EARLY_KEEP), summed per s
    early_power: dict[int, RunningStats] = field(default_factory=dict)
    estimated: bool = False

    def add_step(self, duration_s: float) -> None:
        self.steps += 1
        self.durations.add(duration_s)
        if len(self.early_durations) < EARLY_KEEP:
            self.early_durations.append(duration_s)

    def add_segment(self, power_w: float, dt: float, estimated: bool) -> None:
        start_steps = self.steps_at_last_sample
        self.power.add(power_w, dt)
        if start_steps < EARLY_KEEP:
            early = self.early_power.get(start_steps)
            if early is None:
                early = self.early_power[start_steps] = self.power.like()
            early.add(power_w, dt)
        self.estimated = self.estimated or estimated

    def stats(self, warmup: int, window: str | None) -> StepStats:
        if warmup > EARLY_KEEP and self.steps > EARLY_KEEP:
            raise LpmError(f"warm-up can be changed afterwards only up to {EARLY_KEEP} steps")
        durations = self.durations.copy()
        for d in self.early_durations[:warmup]:
            durations.remove(d)
        power = self.power.copy()
        for start, early in self.early_power.items():
            if start < warmup:
                power.subtract(early)
        if power.count == 0:
            power = self.power  # windows too short to have a segment after the warm-up
        return StepStats.from_parts(
            count=durations.count,
            duration_s_mean=durations.mean,
            duration_s_std=durations.std,
            power_w_mean=power.mean,
            power_w_std=power.std,
            estimated=self.estimated,
            window=window,
            warmup_steps=warmup,
            power_samples=power.count,
        )


@dataclass
class _Window:
    name: str
    index: int
    t_start: float
    started_at: str
    last_mark: float
    steps: int = 0
    energy: dict[str, float] = field(default_factory=dict)


@dataclass
class _WindowAgg:
    count: int = 0
    duration_s: float = 0.0
    steps: int = 0
    energy: dict[str, float] = field(default_factory=dict)


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _maybe_cuda_sync() -> None:
    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
    except Exception:  # a sync problem must not reach the measured job
        pass


class Tracker:
    """Measure energy of a block of code: ``with Tracker(...) as t:``.

    ``meters`` None detects them (:func:`lpm.energy.detect_meters`); ``interval_s`` is the
    sampling period; ``log_dir`` gets a JSON Lines run record; ``warmup_steps`` steps of
    each window name are left out of :meth:`step_stats`; ``cuda_sync`` synchronises CUDA at
    window edges. ``clock`` (monotonic seconds) can be replaced in tests.
    """

    def __init__(
        self,
        meters: Sequence[Meter] | None = None,
        interval_s: float = 1.0,
        log_dir: str | Path | None = None,
        run_name: str | None = None,
        pue: float = DEFAULT_PUE,
        region: str = DEFAULT_REGION,
        cuda_sync: bool = False,
        warmup_steps: int = 0,
        *,
        cpu_scope: str = "process",
        checkpoint_s: float = 10.0,
        distributed_mode: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not interval_s > 0:
            raise LpmError(f"interval_s must be a positive number of seconds, not {interval_s}")
        if not checkpoint_s > 0:
            raise LpmError(f"checkpoint_s must be a positive number of seconds, not {checkpoint_s}")
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise LpmError(f"warmup_steps must be a whole number >= 0, not {warmup_steps!r}")
        footprint(0.0, pue=pue, region=region)  # bad PUE or region: fail now, not at the end
        self.interval_s = float(interval_s)
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.run_name = run_name
        self.pue = float(pue)
        self.region = region
        self.cuda_sync = cuda_sync
        self.warmup_steps = warmup_steps
        self.cpu_scope = cpu_scope
        self.checkpoint_s = checkpoint_s
        self._distributed_mode = distributed_mode
        self._clock = clock
        self._given_meters = list(meters) if meters is not None else None

        self._lock = threading.RLock()  # the state; step() takes only this one
        self._read_lock = threading.RLock()  # meter reads; always taken before _lock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer: RecordWriter | None = None
        self._meters: list[_MeterState] = []
        self._devices: list[_Device] = []
        self._groups: dict[str, _Group] = {}
        self._windows: dict[str, _WindowAgg] = {}
        self._open: list[_Window] = []
        self._all = _Group()
        self._groups[ALL_STEPS] = self._all
        self._active: list[_Group] = [self._all]  # groups of the open windows, and of all
        self._faults: list[str] = []
        self._fault_count = 0
        self._reported: set[str] = set()
        self._steps = 0
        self._t0 = 0.0
        self._t_last = 0.0
        self._t_end: float | None = None
        self._last_mark = 0.0
        self._last_checkpoint = 0.0
        self._started_at = ""
        self._running = False
        self._final: RunSummary | None = None
        self._merged_stats: dict[str, StepStats] | None = None
        self._dist: distributed.DistInfo | None = None
        self.context: dict = {}
        self.run_id = ""
        self.record_path: Path | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Tracker:
        self.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start measuring (``with`` does this)."""
        if self._running or self._final is not None:
            raise LpmError("this Tracker was already started; create a new Tracker per run")
        if self.log_dir is not None:
            try:
                self.log_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LpmError(
                    f"cannot write a run record in {self.log_dir} ({exc.strerror or exc}); "
                    "choose a writable folder for log_dir"
                ) from None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_id = f"{self.run_name or 'run'}-{stamp}-{uuid.uuid4().hex[:6]}"
        use_dist = self._distributed_mode
        if use_dist is None:
            use_dist = distributed.active()
        if use_dist:
            self._dist = distributed.setup(self.run_id)
            if self._dist is not None:
                self.run_id = self._dist.run_id
        meters = self._given_meters
        notices: list[str] = []
        if meters is None:
            from lpm.energy.detect import detect

            select = None
            if self._dist is not None:
                idx = distributed.local_gpu_index()
                select = None if idx is None else [idx]
            detection = detect(cpu_scope=self.cpu_scope, gpu_select=select)
            meters, notices = detection.meters, detection.notices
        if self._dist is not None and self._dist.world_size > 1:
            meters = self._host_once(meters)
        self._setup_devices(meters)
        for n in notices:  # e.g. RAPL not readable: logged once and kept in the run
            self._fault(n)
        self.context = collect_context(meters)
        if self._dist is not None:
            self.context["distributed"] = {
                "rank": self._dist.rank,
                "world_size": self._dist.world_size,
                "backend": self._dist.backend,
                "host_leader": self._dist.host_leader,
            }
        self._started_at = _utc_now()
        now = self._clock()
        self._t0 = self._t_last = self._last_mark = self._last_checkpoint = now
        with self._lock:
            self._baseline(now)
        if self.log_dir is not None:
            suffix = ""
            if self._dist is not None and self._dist.world_size > 1:
                suffix = f"-rank{self._dist.rank}"
            self.record_path = self.log_dir / f"{self.run_id}{suffix}.jsonl"
            try:
                self._writer = RecordWriter(self.record_path)
            except OSError as exc:
                raise LpmError(
                    f"cannot write a run record in {self.log_dir} ({exc.strerror or exc}); "
                    "choose a writable folder for log_dir"
                ) from None
            self._write(self._header())
        self._running = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lpm-energy-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> RunSummary:
        """Stop measuring, write the summary, and return it (``with`` does this)."""
        if self._final is not None:
            return self._final
        if not self._running:
            raise LpmError("this Tracker was never started; use `with Tracker() as t:`")
        try:
            while self._open:
                self.end_window(self._open[-1].name)
            self._stop.set()
            if self._thread is not None:
                self._thread.join(timeout=5.0)

            def finish() -> RunSummary:
                self._t_end = self._t_last
                return self._build_summary(complete=True)

            summary = self._sample(then=finish)
            if self._dist is not None and self._dist.world_size > 1:
                summary = self._gather(summary)
            self._final = summary
            self._running = False
            self._write({"type": "summary", "summary": summary.to_dict()})
        finally:
            self._running = False
            if self._writer is not None:
                self._writer.close()
            if self._given_meters is None:  # close only the meters this Tracker made
                for st in self._meters:
                    close = getattr(st.meter, "close", None)
                    if callable(close):
                        with contextlib.suppress(Exception):
                            close()
        return summary

    @classmethod
    def track(cls, func: Callable | None = None, **kwargs: Any) -> Callable:
        """Decorator: ``@Tracker.track(interval_s=1.0, ...)`` measures every call.

        The summary of the latest call is at ``func.last_summary``.
        """

        def decorate(fn: Callable) -> Callable:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kw: Any) -> Any:
                tracker = cls(**kwargs)
                with tracker:
                    result = fn(*args, **kw)
                wrapper.last_summary = tracker.summary()  # type: ignore[attr-defined]
                return result

            wrapper.last_summary = None  # type: ignore[attr-defined]
            return wrapper

        return decorate(func) if func is not None else decorate

    # ------------------------------------------------------------------ windows and steps
    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[Tracker]:
        """A named phase (``with t.window("train"):``); names may repeat."""
        self.start_window(name)
        try:
            yield self
        finally:
            self.end_window(name)

    def start_window(self, name: str) -> None:
        """Open a window (prefer ``with t.window(name)``)."""
        if not isinstance(name, str) or not name or name == ALL_STEPS:
            raise LpmError(f"a window needs a non-empty name other than {ALL_STEPS!r}")
        if not self._running:
            raise LpmError("start the Tracker before opening a window (`with Tracker() as t:`)")
        if self.cuda_sync:
            _maybe_cuda_sync()

        def open_window() -> None:  # runs right after the edge reading, under the lock
            agg = self._windows.setdefault(name, _WindowAgg())
            index = agg.count + sum(1 for w in self._open if w.name == name)
            t = self._t_last
            self._open.append(_Window(name, index, t, _utc_now(), t))
            self._refresh_active()
            group = self._groups.setdefault(name, _Group())
            group.steps_at_last_sample = group.steps

        self._sample(then=open_window)

    def end_window(self, name: str) -> None:
        """Close the most recent open window of this name and record it."""
        if self.cuda_sync:
            _maybe_cuda_sync()
        with self._lock:
            if not any(w.name == name for w in self._open):
                raise LpmError(f"no open window named {name!r}; open it with t.window({name!r})")

        def close_window() -> dict | None:  # runs right after the edge reading, under the lock
            idx = next(
                (i for i in range(len(self._open) - 1, -1, -1) if self._open[i].name == name), None
            )
            if idx is None:  # closed meanwhile by another thread
                return None
            w = self._open.pop(idx)
            self._refresh_active()
            duration = self._t_last - w.t_start
            agg = self._windows.setdefault(name, _WindowAgg())
            agg.count += 1
            agg.duration_s += duration
            agg.steps += w.steps
            for k, e in w.energy.items():
                agg.energy[k] = agg.energy.get(k, 0.0) + e
            line = {
                "type": "window",
                "name": name,
                "index": w.index,
                "started_at": w.started_at,
                "t_start_s": w.t_start - self._t0,
                "duration_s": duration,
                "steps": w.steps,
                "energy_j": dict(w.energy),
                **self._totals_line(),
            }
            return line

        line = self._sample(then=close_window)
        if line is not None:
            self._write(line)

    def epoch_start(self) -> None:
        """Carbontracker-style: open a window named "epoch"."""
        self.start_window("epoch")

    def epoch_end(self) -> None:
        """Carbontracker-style: close the window named "epoch"."""
        self.end_window("epoch")

    def step(self) -> None:
        """Mark one iteration / sample / denoising step as done."""
        now = self._clock()
        with self._lock:
            inner = self._open[-1] if self._open else None
            ref = inner.last_mark if inner is not None else self._last_mark
            d = now - ref if now > ref else 0.0
            for g in self._active:
                g.add_step(d)
            for w in self._open:
                w.steps += 1
            if inner is not None:
                inner.last_mark = now
            self._last_mark = now
            self._steps += 1

    # ------------------------------------------------------------------ results
    def step_stats(self, window: str | None = None, warmup_steps: int | None = None) -> StepStats:
        """Per-step duration and power, mean ± std, for one window name (None: all steps).

        ``warmup_steps`` None uses the Tracker's. Under torch.distributed, after the run,
        power is that of the whole job (summed over ranks).
        """
        name = ALL_STEPS if window is None else window
        warm = self.warmup_steps if warmup_steps is None else warmup_steps
        if isinstance(warm, bool) or not isinstance(warm, int) or warm < 0:
            raise LpmError(f"warmup_steps must be a whole number >= 0, not {warmup_steps!r}")
        merged = self._merged_stats
        if merged is not None and warm == self.warmup_steps and name in merged:
            return merged[name]
        with self._lock:
            group = self._groups.get(name)
            if group is None or group.steps == 0:
                known = sorted(n for n, g in self._groups.items() if g.steps and n != ALL_STEPS)
                raise LpmError(
                    f"no steps were marked in window {window!r}; call t.step() inside "
                    f"`with t.window({window!r})` (windows with steps: {known or 'none'})"
                )
            return group.stats(warm, window)

    def note(self, message: str) -> None:
        """Record a fact about the measurement in the run (``faults``) without logging it."""
        self._fault(message, log_it=False)

    def sample(self) -> None:
        """Read all meters now (the sampler thread does this every ``interval_s``)."""
        self._sample()

    def summary(self) -> RunSummary:
        """The run so far (while running) or the final summary (after exit)."""
        if self._final is not None:
            return self._final
        if not self._running:
            raise LpmError("this Tracker was never started; use `with Tracker() as t:`")
        return self._sample(then=lambda: self._build_summary(complete=False))

    # ------------------------------------------------------------------ internals
    def _refresh_active(self) -> None:
        names = dict.fromkeys(w.name for w in self._open)
        self._active = [self._groups.setdefault(n, _Group()) for n in names] + [self._all]

    def _host_once(self, meters: Sequence[Meter]) -> list[Meter]:
        """Keep CPU/DRAM meters on one rank per host, covering all that host's ranks."""
        assert self._dist is not None
        if not self._dist.host_leader:
            return [m for m in meters if m.kind == "gpu"]
        others = [p for p in self._dist.local_pids if p != os.getpid()]
        for m in meters:
            track = getattr(m, "track_pids", None)
            if m.kind in ("cpu", "dram") and callable(track) and others:
                track(others)
        return list(meters)

    def _setup_devices(self, meters: Sequence[Meter]) -> None:
        host = socket.gethostname()
        used_keys: set[str] = set()
        used_names: set[str] = set()
        for mi, m in enumerate(meters):
            self._meters.append(_MeterState(m))
            labels = tuple(getattr(m, "devices", ()) or ())
            ids = tuple(getattr(m, "device_ids", ()) or ())
            try:
                first = m.read()
                labels = first.devices
            except Exception as exc:
                self._fault(f"{m.name}: first reading failed ({exc}); meter left out")
                self._meters[-1].dropped = True
                continue
            for di, label in enumerate(labels):
                if di < len(ids):
                    key = ids[di]
                elif m.kind in ("cpu", "dram") or self._dist is None:
                    key = f"{host}:{label}"
                else:
                    key = f"{host}:rank{self._dist.rank}:{label}"
                base_key, n = key, 2
                while key in used_keys:
                    key, n = f"{base_key}#{n}", n + 1
                name, n = label, 2
                while name in used_names:
                    name, n = f"{label} #{n}", n + 1
                used_keys.add(key)
                used_names.add(name)
                self._devices.append(
                    _Device(key, name, m.kind, mi, di, estimated=bool(m.estimated))
                )

    def _baseline(self, now: float) -> None:
        for mi, st in enumerate(self._meters):
            st.last_t = now
            if st.dropped:
                continue
            try:
                r = st.meter.read()
            except Exception as exc:
                self._fault(f"{st.meter.name}: reading failed at start ({exc}); meter left out")
                st.dropped = True
                continue
            for dev in self._devices:
                if dev.meter == mi and dev.index < len(r.energy_j):
                    dev.last_j = r.energy_j[dev.index]
                    dev.estimated = dev.estimated or r.estimated[dev.index]

    def _read_meter(self, mi: int, now: float) -> Reading | None:
        """One meter's reading; on failure an estimate from its mean power so far."""
        st = self._meters[mi]
        if st.dropped:
            return None
        try:
            r = st.meter.read()
            if st.failing:
                # it works again: re-base on its own counter, the gap was estimated
                st.failing = False
                for dev in self._devices:
                    if dev.meter == mi and dev.index < len(r.energy_j):
                        dev.last_j = r.energy_j[dev.index]
                self._fault(f"{st.meter.name}: readings are back", once=False)
            st.last_t = now
            return r
        except Exception as exc:
            devs = [d for d in self._devices if d.meter == mi]
            elapsed = st.last_t - self._t0  # up to the last reading (good or estimated)
            if not st.failing:
                self._fault(
                    f"{st.meter.name}: reading failed ({type(exc).__name__}: {exc}); "
                    "estimating from its mean power so far"
                )
            st.failing = True
            if elapsed <= 0 or all(d.total_j <= 0 for d in devs):
                st.dropped = True
                self._fault(f"{st.meter.name}: no reading to estimate from; meter left out")
                return None
            dt = max(now - st.last_t, 0.0)
            st.last_t = now
            energies = []
            for d in sorted(devs, key=lambda d: d.index):
                energies.append(d.last_j + d.total_j / elapsed * dt)
            return Reading(
                energy_j=tuple(energies),
                devices=tuple(d.name for d in sorted(devs, key=lambda d: d.index)),
                estimated=(True,) * len(energies),
            )

    def _sample(self, then: Callable[[], Any] | None = None) -> Any:
        """Read every meter, add the deltas, attribute the segment; then run ``then``.

        Meter reads hold only the read lock, so a slow or stuck meter never blocks
        :meth:`step`; the state is updated under the state lock (callers must not hold it).
        """
        if not self._read_lock.acquire(timeout=READ_TIMEOUT_S):
            # a meter read is stuck in the sampler thread: go on without a fresh reading
            self._fault(f"meter readings blocked for over {READ_TIMEOUT_S:g} s; edge not read")
            with self._lock:
                return then() if then is not None else None
        try:
            before = self._clock()
            readings = [self._read_meter(mi, before) for mi in range(len(self._meters))]
            now = 0.5 * (before + self._clock())  # the readings' time: mid-way through them
            with self._lock:
                self._apply(now, readings)
                result = then() if then is not None else None
                checkpoint = None
                if self._writer is not None and now - self._last_checkpoint >= self.checkpoint_s:
                    self._last_checkpoint = now
                    checkpoint = {"type": "checkpoint", **self._totals_line()}
            if checkpoint is not None:
                self._write(checkpoint)
        finally:
            self._read_lock.release()
        return result

    def _apply(self, now: float, readings: list[Reading | None]) -> None:
        """Add one reading of every meter to the state. Caller holds both locks."""
        deltas: dict[str, float] = {}
        seg_estimated = False
        for dev in self._devices:
            r = readings[dev.meter]
            if r is None or dev.index >= len(r.energy_j):
                continue
            e = r.energy_j[dev.index]
            if not math.isfinite(e):
                self._fault(
                    f"{dev.name}: reading is not a number ({e}); ignored", key=f"{dev.key}:nan"
                )
                continue
            delta = e - dev.last_j
            if delta < 0:
                self._fault(
                    f"{dev.name}: energy went backwards by {-delta:.3g} J; ignored",
                    key=f"{dev.key}:backwards",
                )
                delta = 0.0
            dev.last_j = e
            dev.total_j += delta
            dev.estimated = dev.estimated or r.estimated[dev.index]
            seg_estimated = seg_estimated or dev.estimated
            deltas[dev.key] = delta
        dt = now - self._t_last
        self._t_last = max(now, self._t_last)
        for w in self._open:
            for k, d in deltas.items():
                w.energy[k] = w.energy.get(k, 0.0) + d
        if dt >= MIN_SEGMENT_S:
            power = sum(deltas.values()) / dt
            for g in self._active:
                g.add_segment(power, dt, seg_estimated)
        for g in self._active:
            g.steps_at_last_sample = g.steps
        for st in self._meters:
            notices = getattr(st.meter, "notices", None)
            if notices:
                for msg in list(notices):
                    self._fault(msg)
                notices.clear()

    def _totals_line(self) -> dict:
        return {
            "elapsed_s": self._t_last - self._t0,
            "steps_total": self._steps,
            "totals_j": {d.key: d.total_j for d in self._devices},
            "estimated_keys": [d.key for d in self._devices if d.estimated],
        }

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._sample()
            except Exception as exc:  # the sampler never takes the job down
                self._fault(f"sampler error ({type(exc).__name__}: {exc})")

    def _fault(
        self, message: str, once: bool = True, key: str | None = None, log_it: bool = True
    ) -> None:
        """Record a meter problem in the run and log it once (per ``key``)."""
        key = key or message
        with self._lock:
            if once and key in self._reported:
                return
            self._reported.add(key)
            self._fault_count += 1
            if len(self._faults) < MAX_FAULTS:
                self._faults.append(message)
        if log_it:
            log.warning("lpm.energy: %s", message)
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._write(
                    {"type": "fault", "elapsed_s": self._t_last - self._t0, "message": message}
                )

    def _write(self, obj: dict) -> None:
        if self._writer is None:
            return
        try:
            self._writer.write(obj)
        except Exception as exc:  # a full disk must not stop training
            if "record" not in self._reported:
                self._reported.add("record")
                log.warning("lpm.energy: cannot write run record %s (%s)", self.record_path, exc)

    def _header(self) -> dict:
        return {
            "type": "header",
            "schema": SCHEMA,
            "run_id": self.run_id,
            "run_name": self.run_name,
            "started_at": self._started_at,
            "interval_s": self.interval_s,
            "pue": self.pue,
            "region": self.region,
            "warmup_steps": self.warmup_steps,
            "devices": [
                {"key": d.key, "name": d.name, "kind": d.kind, "estimated": d.estimated}
                for d in self._devices
            ],
            "context": self.context,
        }

    def _duration(self) -> float:
        end = self._t_end if self._t_end is not None else self._t_last
        return max(end - self._t0, 0.0)

    def _windows_dict(self, kinds: dict[str, str], estimated: set[str]) -> dict[str, dict]:
        out = {}
        for name, agg in self._windows.items():
            if agg.count == 0:
                continue
            by_kind: dict[str, float] = {}
            for k, e in agg.energy.items():
                by_kind[kinds.get(k, "other")] = by_kind.get(kinds.get(k, "other"), 0.0) + e
            total = sum(agg.energy.values())
            out[name] = {
                "count": agg.count,
                "duration_s": agg.duration_s,
                "steps": agg.steps,
                "energy_j": total,
                "energy_kwh": total / J_PER_KWH,
                "mean_power_w": total / agg.duration_s if agg.duration_s > 0 else 0.0,
                "by_kind_j": by_kind,
                "energy_by_device_j": dict(agg.energy),
                "estimated": any(k in estimated for k in agg.energy),
            }
        return out

    def _build_summary(self, *, complete: bool) -> RunSummary:
        duration = self._duration()
        components = [
            ComponentEnergy(
                name=d.name,
                kind=d.kind,
                energy_j=d.total_j,
                energy_kwh=d.total_j / J_PER_KWH,
                mean_power_w=d.total_j / duration if duration > 0 else 0.0,
                estimated=d.estimated,
                device_id=d.key,
            )
            for d in self._devices
        ]
        kinds = {d.key: d.kind for d in self._devices}
        estimated = {d.key for d in self._devices if d.estimated}
        step_stats = {}
        for name, g in self._groups.items():
            if g.steps:
                with contextlib.suppress(LpmError):
                    window = None if name == ALL_STEPS else name
                    step_stats[name] = g.stats(self.warmup_steps, window).to_dict()
        return self._make_summary(
            components,
            duration,
            self._windows_dict(kinds, estimated),
            self._steps,
            step_stats,
            complete,
        )

    def _make_summary(
        self,
        components: list[ComponentEnergy],
        duration: float,
        windows: dict,
        steps: int,
        step_stats: dict,
        complete: bool,
    ) -> RunSummary:
        it_kwh = sum(c.energy_kwh for c in components)
        fp = footprint(it_kwh, pue=self.pue, region=self.region)
        faults = list(self._faults)
        if self._fault_count > len(faults):
            faults.append(f"... and {self._fault_count - len(faults)} more")
        return RunSummary(
            run_id=self.run_id,
            duration_s=duration,
            it_energy_kwh=it_kwh,
            facility_energy_kwh=fp.facility_energy_kwh,
            co2e_kg=fp.co2e_kg,
            components=components,
            windows=windows,
            steps=steps,
            estimated=any(c.estimated for c in components),
            context=self.context,
            footprint=fp,
            complete=complete,
            started_at=self._started_at,
            path=str(self.record_path) if self.record_path else None,
            faults=faults,
            step_stats=step_stats,
        )

    def _gather(self, local: RunSummary) -> RunSummary:
        """Merge every rank's devices (once per device id) and windows (a collective)."""
        assert self._dist is not None
        payload = {
            "rank": self._dist.rank,
            "host": self._dist.host,
            "duration_s": local.duration_s,
            "steps": local.steps,
            "components": [c.to_dict() for c in local.components],
            "windows": local.windows,
            "step_stats": local.step_stats,
            "faults": local.faults,
        }
        try:
            everyone = distributed.gather(payload)
        except Exception as exc:
            self._fault(f"gathering ranks failed ({exc}); this record holds rank-local totals")
            return local
        if not everyone:
            return local
        comps: dict[str, ComponentEnergy] = {}
        names: set[str] = set()
        duration = max(p["duration_s"] for p in everyone)
        for p in everyone:
            for c in p["components"]:
                ce = ComponentEnergy.from_dict(c)
                if ce.device_id in comps:
                    continue  # the same device seen by several ranks: counted once
                if ce.name in names:
                    ce = ComponentEnergy(
                        f"{ce.name} [rank {p['rank']}]",
                        ce.kind,
                        ce.energy_j,
                        ce.energy_kwh,
                        ce.energy_j / duration if duration > 0 else 0.0,
                        ce.estimated,
                        ce.device_id,
                    )
                names.add(ce.name)
                comps[ce.device_id] = ce
        kinds = {c.device_id: c.kind for c in comps.values()}
        windows: dict[str, dict] = {}
        for p in everyone:
            for name, w in p["windows"].items():
                m = windows.setdefault(
                    name,
                    {
                        "count": w["count"],
                        "duration_s": w["duration_s"],
                        "steps": w["steps"],
                        "energy_by_device_j": {},
                        "estimated": False,
                    },
                )
                for k, e in w.get("energy_by_device_j", {}).items():
                    m["energy_by_device_j"].setdefault(k, e)
                m["estimated"] = m["estimated"] or w.get("estimated", False)
        for m in windows.values():
            total = sum(m["energy_by_device_j"].values())
            by_kind: dict[str, float] = {}
            for k, e in m["energy_by_device_j"].items():
                by_kind[kinds.get(k, "other")] = by_kind.get(kinds.get(k, "other"), 0.0) + e
            m.update(
                energy_j=total,
                energy_kwh=total / J_PER_KWH,
                mean_power_w=total / m["duration_s"] if m["duration_s"] > 0 else 0.0,
                by_kind_j=by_kind,
            )
        merged_stats = distributed.merge_step_stats([p["step_stats"] for p in everyone])
        self._merged_stats = merged_stats
        self.context["distributed"]["ranks"] = [
            {"rank": p["rank"], "host": p["host"], "duration_s": p["duration_s"]} for p in everyone
        ]
        for p in everyone:
            for f in p["faults"]:
                if p["rank"] != self._dist.rank:
                    self._faults.append(f"rank {p['rank']}: {f}")
        return self._make_summary(
            list(comps.values()),
            duration,
            windows,
            local.steps,
            {k: v.to_dict() for k, v in merged_stats.items()},
            True,
        )
