"""Polling and meter state: reader threads, device counters, stuck meters, re-basing.

Every meter is read in its own daemon thread with a time limit: a read that does not
return in ``read_timeout_s`` is a stuck meter, whose devices are then estimated from their
mean power so far (flagged ESTIMATED, with a fault note) until a read returns again; then
the device re-bases on its own counter. :class:`Poller` turns readings into per-device
energy deltas; attributing them to windows is :mod:`lpm.energy.accounting`'s job.
"""

from __future__ import annotations

import contextlib
import math
import queue
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lpm.energy.reading import MeterBase, Reading
from lpm.provenance import Provenance

Fault = Callable[..., None]  # (message, once=True, key=None): record a meter problem


def segment_provenance(base: Provenance, seen: Provenance) -> Provenance:
    """A device's provenance for one segment: its meter's, ESTIMATED where a reading says so.

    A measured device whose reading is not measured (a gap bridged after a fault, a stuck
    meter) is ESTIMATED; an estimated or simulated device stays what its meter is.
    """
    if base is Provenance.MEASURED and seen is not Provenance.MEASURED:
        return Provenance.ESTIMATED
    return base


@dataclass
class Device:
    """One device of one meter: its key, name and running counter."""

    key: str
    name: str
    kind: str
    meter: int
    index: int
    base: Provenance = Provenance.ESTIMATED
    last_j: float = 0.0
    total_j: float = 0.0
    degraded: bool = False  # some of its energy was estimated (a fault, a stuck meter)

    @property
    def provenance(self) -> Provenance:
        return Provenance.ESTIMATED if self.degraded else self.base


class Job:
    """One read of a meter, done in the meter's reader thread."""

    __slots__ = ("done", "error", "reading", "t_done", "t_start")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.reading: Reading | None = None
        self.error: BaseException | None = None
        self.t_start = 0.0
        self.t_done = 0.0


class Reader:
    """Reads one meter in a daemon thread, so that a read that blocks blocks only itself."""

    def __init__(self, meter: MeterBase, clock: Callable[[], float]) -> None:
        self.meter = meter
        self._clock = clock
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.pending: Job | None = None
        self._thread = threading.Thread(target=self._run, name="lpm-energy-meter", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job.t_start = self._clock()
                job.reading = self.meter.read()
            except Exception as exc:  # reported by the Tracker, never raised
                job.error = exc
            with contextlib.suppress(Exception):
                job.t_done = self._clock()
            job.done.set()

    @property
    def stuck(self) -> bool:
        """A read is still in progress (it did not return in time)."""
        return self.pending is not None and not self.pending.done.is_set()

    def start(self) -> Job | None:
        """Start a read; None while the previous read has not returned yet."""
        if self.stuck:
            return None
        job = self.pending = Job()
        self._jobs.put(job)
        return job

    def read(self, timeout_s: float) -> tuple[Reading, float]:
        """A read that waits at most ``timeout_s``, and its time (mid-way through it).

        TimeoutError when it did not return in time.
        """
        job = self.start()
        if job is None or not job.done.wait(timeout_s):
            raise TimeoutError(f"no reading within {timeout_s:g} s (stuck meter)")
        if job.error is not None:
            raise job.error
        assert job.reading is not None
        return job.reading, 0.5 * (job.t_start + job.t_done)

    def close(self) -> None:
        """End the thread once its current read (if any) returns."""
        self._jobs.put(None)


@dataclass
class MeterState:
    """One meter, its reader thread and whether it is failing or left out."""

    meter: MeterBase
    reader: Reader
    failing: bool = False
    dropped: bool = False
    last_t: float = 0.0


class Poller:
    """The meters of one run and their devices' counters.

    ``fault`` records a meter problem in the run. :meth:`read_all` holds no lock of its
    own: the Tracker serialises readings and applies :meth:`deltas` under its state lock.
    """

    def __init__(self, clock: Callable[[], float], read_timeout_s: float, fault: Fault) -> None:
        self._clock = clock
        self.read_timeout_s = read_timeout_s
        self._fault = fault
        self.meters: list[MeterState] = []
        self.devices: list[Device] = []
        self.t0 = 0.0

    def setup(self, meters: Sequence[MeterBase], rank: int | None) -> None:
        """Start a reader per meter, take a first reading and name every device once.

        ``rank`` (under torch.distributed) makes GPU keys without a device id rank-local.
        """
        host = socket.gethostname()
        used_keys: set[str] = set()
        used_names: set[str] = set()
        for mi, m in enumerate(meters):
            st = MeterState(m, Reader(m, self._clock))
            self.meters.append(st)
            ids = tuple(m.device_ids)
            try:
                first, _ = st.reader.read(self.read_timeout_s)
            except Exception as exc:
                self._fault(f"{m.name}: first reading failed ({exc}); meter left out")
                st.dropped = True
                continue
            for di, label in enumerate(first.devices):
                if di < len(ids):
                    key = ids[di]
                elif m.kind in ("cpu", "dram") or rank is None:
                    key = f"{host}:{label}"
                else:
                    key = f"{host}:rank{rank}:{label}"
                base_key, n = key, 2
                while key in used_keys:
                    key, n = f"{base_key}#{n}", n + 1
                name, n = label, 2
                while name in used_names:
                    name, n = f"{label} #{n}", n + 1
                used_keys.add(key)
                used_names.add(name)
                self.devices.append(Device(key, name, m.kind, mi, di, base=m.provenance))

    def baseline(self, now: float) -> float:
        """Every meter's first counted reading; the run starts at their mean time."""
        times = []
        readings: list[Reading | None] = []
        for st in self.meters:
            r = None
            if not st.dropped:
                try:
                    r, t_read = st.reader.read(self.read_timeout_s)
                    times.append(t_read)
                except Exception as exc:
                    self._fault(f"{st.meter.name}: reading failed at start ({exc}); meter left out")
                    st.dropped = True
            readings.append(r)
        if times:
            now = sum(times) / len(times)
        self.t0 = now
        for mi, st in enumerate(self.meters):
            st.last_t = now
            r = readings[mi]
            if r is None:
                continue
            for dev in self.devices:
                if dev.meter == mi and dev.index < len(r.energy_j):
                    dev.last_j = r.energy_j[dev.index]
                    seen = segment_provenance(dev.base, r.provenance[dev.index])
                    dev.degraded = dev.degraded or seen is not dev.base
        return now

    def read_all(self) -> tuple[float, list[Reading | None]]:
        """One reading of every meter (estimated where stuck or failing) and its time."""
        before = self._clock()
        jobs = [None if st.dropped else st.reader.start() for st in self.meters]
        deadline = time.monotonic() + self.read_timeout_s
        for job in jobs:
            if job is not None:
                job.done.wait(max(deadline - time.monotonic(), 0.0))
        done = [j for j in jobs if j is not None and j.done.is_set() and j.error is None]
        readings = [self._read_meter(mi, before, jobs[mi]) for mi in range(len(self.meters))]
        # the readings' time: mid-way through them
        if done:
            return 0.5 * (min(j.t_start for j in done) + max(j.t_done for j in done)), readings
        return before, readings

    def _read_meter(self, mi: int, now: float, job: Job | None) -> Reading | None:
        """One meter's reading; when it failed or is stuck, an estimate from its mean power."""
        st = self.meters[mi]
        if st.dropped:
            return None
        try:
            if job is None or not job.done.is_set():
                raise TimeoutError(
                    f"no reading within {self.read_timeout_s:g} s (stuck meter); the job goes on"
                )
            if job.error is not None:
                raise job.error
            r = job.reading
            if not isinstance(r, Reading):
                raise TypeError(f"read() returned {type(r).__name__}, not a Reading")
            if st.failing:
                # it works again: re-base on its own counter, the gap was estimated
                st.failing = False
                for dev in self.devices:
                    if dev.meter == mi and dev.index < len(r.energy_j):
                        dev.last_j = r.energy_j[dev.index]
                self._fault(f"{st.meter.name}: readings are back", once=False)
            st.last_t = now
            return r
        except Exception as exc:
            devs = [d for d in self.devices if d.meter == mi]
            elapsed = st.last_t - self.t0  # up to the last reading (good or estimated)
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
                provenance=(Provenance.ESTIMATED,) * len(energies),
            )

    def deltas(
        self, readings: list[Reading | None]
    ) -> tuple[dict[str, float], dict[str, Provenance]]:
        """Add one reading of every meter to the counters: energy and provenance per key."""
        deltas: dict[str, float] = {}
        seg_prov: dict[str, Provenance] = {}
        for dev in self.devices:
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
            seen = segment_provenance(dev.base, r.provenance[dev.index])
            dev.degraded = dev.degraded or seen is not dev.base
            seg_prov[dev.key] = seen
            deltas[dev.key] = delta
        return deltas, seg_prov

    def drain_notices(self) -> list[str]:
        """The meters' notices since the last call (each meter's list is emptied)."""
        out: list[str] = []
        for st in self.meters:
            notices = st.meter.notices
            if notices:
                out.extend(notices)
                notices.clear()
        return out

    @property
    def total_j(self) -> float:
        return sum(d.total_j for d in self.devices)

    def provenance(self) -> Provenance:
        """The run's provenance: its devices' combined."""
        return Provenance.combine(d.provenance for d in self.devices)

    def close(self, *, close_meters: bool) -> None:
        """End the reader threads; ``close_meters`` also closes meters not stuck in a read."""
        for st in self.meters:
            st.reader.close()
        if close_meters:
            for st in self.meters:
                if not st.reader.stuck:  # never wait on a stuck meter
                    with contextlib.suppress(Exception):
                        st.meter.close()
