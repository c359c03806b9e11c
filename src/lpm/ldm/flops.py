"""FLOPs of one step, counted with torch.utils.flop_counter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def count_flops(fn: Callable[[], Any]) -> int:
    """Floating-point operations of one call of `fn` (forward, and backward if it runs one).

    Returns 0 (and logs why) if the counter cannot trace the call.
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    try:
        with counter:
            fn()
    except Exception as exc:  # a counter failure must not stop a training run
        log.warning("FLOP counting failed: %s", exc)
        return 0
    return int(counter.get_total_flops())
