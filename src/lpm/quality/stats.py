"""Sample-size checks and seeded bootstrap confidence intervals for the quality metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lpm.errors import LpmError

DEFAULT_BOOTSTRAP = 200
CI_LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A metric's value on the full sets, its bootstrap CI and the sample sizes it rests on."""

    value: float
    ci_low: float
    ci_high: float
    n: dict[str, int] = field(default_factory=dict)


def require(metric: str, what: str, n: int, minimum: int) -> None:
    """LpmError unless `n` images of `what` reach `minimum` for `metric`."""
    if n < minimum:
        raise LpmError(
            f"{metric} needs at least {minimum} {what} images (got {n}); give more images."
        )


def _interval(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - CI_LEVEL) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_two(
    stat: Callable[[np.ndarray, np.ndarray], float],
    n_a: int,
    n_b: int,
    *,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    names: tuple[str, str] = ("generated", "real"),
) -> Estimate:
    """stat(index_a, index_b) on the full sets, and a percentile CI from resampling each set's
    images with replacement `n_boot` times (seeded)."""
    rng = np.random.default_rng(seed)
    value = float(stat(np.arange(n_a), np.arange(n_b)))
    draws = np.array(
        [stat(rng.integers(0, n_a, n_a), rng.integers(0, n_b, n_b)) for _ in range(n_boot)],
        dtype=np.float64,
    )
    low, high = _interval(draws)
    return Estimate(value, low, high, {names[0]: n_a, names[1]: n_b})


def bootstrap_mean(
    values: np.ndarray, *, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0, n: dict[str, int]
) -> Estimate:
    """The mean of per-item values and a percentile CI from resampling the items (seeded)."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    k = values.size
    draws = values[rng.integers(0, k, (n_boot, k))].mean(axis=1)
    low, high = _interval(draws)
    return Estimate(float(values.mean()), low, high, dict(n))


def halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint halves of range(n), drawn with `seed` (for real-vs-real floors)."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 : 2 * (n // 2)])
