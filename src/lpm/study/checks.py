"""Checks of a spec against the world: data on disk, known regions, sizes the models take.

These run before any scenario does, so that a typo fails in a second, not after an hour.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lpm.errors import LpmError
from lpm.sizes import size_id
from lpm.study.grid import scenarios
from lpm.study.spec import StudySpec

MultipleFn = Callable[[int, str], int]
"""(dims, model) -> the number every image axis must be a multiple of."""


def check_data(spec: StudySpec) -> None:
    """``data`` is ``phantom`` or an existing path."""
    if spec.data != "phantom" and not Path(spec.data).expanduser().exists():
        raise LpmError(f"spec data: {spec.data} does not exist; give a path or 'phantom'")


def check_regions(spec: StudySpec) -> None:
    """Every region (and the months' region and year) has an intensity in lpm.carbon."""
    from lpm.carbon import IntensityDatabase

    db = IntensityDatabase.default()
    for where, region in [("region", spec.region)] + [("regions", r) for r in spec.regions]:
        try:
            db.lookup(region, source=spec.intensity_source)
        except LpmError as exc:
            raise LpmError(f"spec {where}: {exc}") from None
    if spec.months is not None:
        try:
            db.lookup(spec.months.region, month=f"{spec.months.year}-01")
        except LpmError as exc:
            raise LpmError(f"spec months: {exc}") from None


def size_multiple(dims: int, model: str) -> int:
    """The multiple every image axis needs: autoencoder (4x) × diffusion UNet downsampling."""
    from lpm.ldm import size_multiple as ldm_size_multiple

    return ldm_size_multiple(dims, model)


def check_sizes(spec: StudySpec, multiple: MultipleFn | None = None) -> None:
    """Each scenario's image axes are multiples of what its model downsamples by."""
    multiple = multiple or size_multiple
    for sc in scenarios(spec):
        m = multiple(sc.dims, sc.model)
        if any(axis % m for axis in sc.size):
            raise LpmError(
                f"spec image size {size_id(sc.size)} cannot be taken by the {sc.dims}D "
                f"{sc.model} model: every axis must be a multiple of {m} (autoencoder x UNet "
                f"downsampling); use e.g. {_nearest(sc.size, m)}"
            )


def _nearest(size: tuple[int, ...], m: int) -> str:
    fixed = tuple(max(m, round(a / m) * m) for a in size)
    return size_id(fixed)


def check_quality(spec: StudySpec, multiple: MultipleFn | None = None) -> None:
    """The quality stage (if any) can draw held-out data and its model takes its size."""
    stage = spec.quality
    if stage is None:
        return
    if spec.data != "phantom":
        raise LpmError(
            "spec quality: the quality stage scores samples against held-out phantoms, but "
            f"data is {spec.data}; set data: phantom or quality: null"
        )
    m = (multiple or size_multiple)(stage.dims, stage.model)
    size = stage.size_tuple()
    if any(axis % m for axis in size):
        raise LpmError(
            f"spec quality.size {size_id(size)} cannot be taken by the {stage.dims}D "
            f"{stage.model} model: every axis must be a multiple of {m}; use e.g. "
            f"{_nearest(size, m)}"
        )


def check_spec(spec: StudySpec, *, multiple: MultipleFn | None = None) -> None:
    """All checks a spec must pass before its study runs."""
    check_data(spec)
    check_regions(spec)
    check_sizes(spec, multiple)
    check_quality(spec, multiple)
