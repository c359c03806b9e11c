"""Fake meters for tests: a measured GPU whose read() blocks, like a stuck driver call."""

from __future__ import annotations

import threading
import time

from lpm.energy import Reading
from lpm.energy.reading import MeterBase
from lpm.provenance import Provenance


class BlockingMeter(MeterBase):
    """A measured GPU whose read() blocks (up to 30 s) once ``block`` is set.

    ``entered`` is set when a read starts blocking; set ``release`` (e.g. in a fixture's
    teardown) to let it return, so no test waits 30 s. Energy is ``watts`` × real time.
    """

    kind = "gpu"
    provenance = Provenance.MEASURED
    name = "blocking gpu"

    def __init__(self, watts: float = 100.0) -> None:
        self.watts = watts
        self.t0 = time.monotonic()
        self.block = threading.Event()
        self.entered = threading.Event()
        self.release = threading.Event()

    def read(self) -> Reading:
        if self.block.is_set():
            self.entered.set()
            self.release.wait(30)
        e = self.watts * (time.monotonic() - self.t0)
        return Reading((e,), ("gpu:0 blocking",))
