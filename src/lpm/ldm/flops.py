"""FLOPs of one step, counted with torch.utils.flop_counter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def count_flops(fn: Callable[[], Any]) -> int | None:
    """Floating-point operations of one call of `fn` (forward, and backward if it runs one).

    None means unknown: the counter could not trace the call, or it counted nothing (a step
    of a network always has FLOPs, so a total of 0 means the counter saw none of its
    operations). Never 0 in place of a failure; the reason is logged.
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    try:
        with counter:
            fn()
    except Exception as exc:  # a counter failure must not stop a training run
        log.warning("FLOP counting failed, FLOPs are unknown: %s", exc)
        return None
    total = int(counter.get_total_flops())
    if total <= 0:
        log.warning("the FLOP counter saw no operations in the step; FLOPs are unknown")
        return None
    return total
