"""Exponential moving average of model weights, with a warm-up of the decay.

With a fixed decay d the average keeps d**n of the weights it started from after n
updates: 0.999**1500 = 22 % of a randomly initialised UNet after 1500 iterations, enough
to shrink its noise predictions (std 0.76 where the target has 1) and to send sampling
off the data. The decay therefore warms up as min(d, (1 + n) / (10 + n)) (the warm-up of
Ho et al.'s and diffusers' EMA), so the average forgets the initial weights within a few
hundred updates and reaches d for long runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.optim.swa_utils import AveragedModel


def ema_decay_at(decay: float, updates: int) -> float:
    """The decay used for update number `updates` (0 for the first): warm-up, then `decay`."""
    return min(float(decay), (1.0 + updates) / (10.0 + updates))


def _warmup_ema(decay: float) -> Callable[..., None]:
    """Update in place with the warmed-up decay; the count stays on its device (no sync)."""

    def update(
        averaged: Sequence[torch.Tensor], current: Sequence[torch.Tensor], n: torch.Tensor
    ) -> None:
        if not averaged:
            return
        if not averaged[0].is_floating_point():  # integer buffers: keep the newest value
            for a, c in zip(averaged, current, strict=True):
                a.copy_(c)
            return
        n = n.to(averaged[0].dtype)
        d = torch.clamp((1.0 + n) / (10.0 + n), max=float(decay))
        torch._foreach_lerp_(list(averaged), list(current), 1.0 - d)

    return update


def make_ema(model: torch.nn.Module, decay: float) -> AveragedModel:
    """An EMA copy of `model` updated with `ema.update_parameters(model)` after each step."""
    ema = AveragedModel(model, multi_avg_fn=_warmup_ema(decay), use_buffers=True)
    ema.requires_grad_(False)
    return ema
