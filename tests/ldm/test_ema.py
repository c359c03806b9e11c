"""The EMA of the UNet weights forgets its random start (the warm-up of its decay)."""

from __future__ import annotations

import pytest
import torch

from lpm.ldm.ema import ema_decay_at, make_ema


def _track(decay: float, updates: int) -> float:
    """EMA of a weight that moves from 0 to 1 over `updates` steps, then stays at 1."""
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    ema = make_ema(model, decay)
    for k in range(updates):
        with torch.no_grad():
            model.weight.fill_(min(1.0, (k + 1) / (updates / 2)))
        ema.update_parameters(model)
    return float(ema.module.weight)


def test_decay_warms_up_then_holds() -> None:
    assert ema_decay_at(0.999, 0) == pytest.approx(0.1)
    assert ema_decay_at(0.999, 90) == pytest.approx(0.91)
    assert ema_decay_at(0.999, 10**6) == 0.999


def test_ema_follows_the_weights_of_a_short_run() -> None:
    # 1500 updates with a fixed 0.999 would keep 0.999**750 = 47 % of the weights of the
    # first half; with the warm-up the average is within a few % of the final weights.
    assert _track(0.999, 1500) > 0.9
    # Short runs with a large decay still move: the warm-up decay is ~0.99 at update 1000.
    assert _track(0.9999, 1500) > 0.5


def test_ema_state_round_trips_with_its_count() -> None:
    model = torch.nn.Linear(2, 2)
    ema = make_ema(model, 0.99)
    for _ in range(5):
        ema.update_parameters(model)
    again = make_ema(torch.nn.Linear(2, 2), 0.99)
    again.load_state_dict(ema.state_dict())
    assert int(again.n_averaged) == 5
    assert torch.equal(again.module.weight, ema.module.weight)
