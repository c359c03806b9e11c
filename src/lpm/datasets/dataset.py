"""CTDataset: phantoms or the user's CT as model-ready torch tensors; a checking collate."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from lpm.datasets.intensity import DEFAULT_HU_WINDOW, check_window, hu_to_unit
from lpm.datasets.phantom import make_phantom
from lpm.datasets.preprocess import check_spacing, crop_or_pad, resample, validate_array
from lpm.datasets.readers import list_volumes, load_volume
from lpm.datasets.sizes import format_size, parse_size
from lpm.errors import LpmError

log = logging.getLogger(__name__)

DEFAULT_PHANTOMS = 64
DEFAULT_SLICES_PER_VOLUME = 32


def derived_seed(seed: int, index: int) -> int:
    """A 32-bit seed for item `index` of a data set seeded with `seed` (stable across runs)."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index)]).generate_state(1)[0])


class _ByteCache:
    """A small least-recently-used cache bounded by bytes (always keeps the newest item)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, key: Any) -> np.ndarray | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: Any, value: np.ndarray) -> None:
        if key in self._items:
            return
        self._items[key] = value
        self._bytes += value.nbytes
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._bytes -= old.nbytes


class CTDataset(Dataset):
    """CT images as float32 tensors shaped (1, *size) in [-1, 1].

    `source` is "phantom" (synthetic CT, generated lazily and deterministically per index)
    or a path: a NIfTI file, a DICOM series folder, a folder of volumes or a list file.
    With dims=3 each item is one volume, centre cropped/padded to `size`; with dims=2 each
    item is an axial slice drawn (seeded by `seed` and the index) from a volume.

    n: number of items; default 64 phantoms, one per volume (3D) or `slices_per_volume`
    per volume (2D) for files. Item i of a file source uses volume i mod the number of
    volumes. Bad files raise LpmError naming the file, or, with skip_bad=True, are skipped
    with a logged warning (their items come from the next good volume).
    """

    def __init__(
        self,
        source: str | Path = "phantom",
        dims: int = 3,
        size: Sequence[int] | int | str = 64,
        n: int | None = None,
        seed: int = 0,
        skip_bad: bool = False,
        hu_window: Sequence[float] = DEFAULT_HU_WINDOW,
        spacing: Sequence[float] | None = None,
        *,
        pad: bool = True,
        slices_per_volume: int = DEFAULT_SLICES_PER_VOLUME,
        cache_mb: float = 512.0,
    ) -> None:
        self.dims = int(dims)
        self.size = parse_size(size, self.dims)
        self.seed = int(seed)
        self.skip_bad = bool(skip_bad)
        self.hu_window = check_window(hu_window)
        self.pad = bool(pad)
        self.spacing = None if spacing is None else tuple(float(s) for s in spacing)
        if self.spacing is not None and len(self.spacing) not in (2, 3):
            raise LpmError(
                f"spacing {spacing!r} must give 2 or 3 voxel sizes in mm (3 for volumes; 2 "
                "resamples the axial plane of 2D slices)."
            )
        if self.spacing is not None:
            check_spacing(self.spacing, len(self.spacing), "spacing")
        if n is not None and int(n) <= 0:
            raise LpmError(f"n={n} must be a positive number of items.")
        self._cache = _ByteCache(int(cache_mb * 2**20))
        self._bad: dict[int, str] = {}
        self._slices: dict[int, np.ndarray] = {}
        self.is_phantom = isinstance(source, str) and source.strip().lower() == "phantom"
        if self.is_phantom:
            self.source: str | Path = "phantom"
            self.paths: list[Path] = []
            self.n = int(n) if n is not None else DEFAULT_PHANTOMS
        else:
            self.source = Path(source)
            self.paths = list_volumes(self.source)
            per_volume = 1 if self.dims == 3 else int(slices_per_volume)
            self.n = int(n) if n is not None else len(self.paths) * per_volume

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> torch.Tensor:
        if index < 0:
            index += self.n
        if not 0 <= index < self.n:
            raise IndexError(f"index {index} out of range for {self.n} items")
        array = self._phantom_item(index) if self.is_phantom else self._file_item(index)
        return torch.from_numpy(array[None])

    def describe(self, index: int) -> str:
        """Where item `index` comes from (for messages)."""
        if self.is_phantom:
            return f"phantom #{index} (seed {derived_seed(self.seed, index)})"
        return str(self.paths[index % len(self.paths)])

    # -- phantoms ---------------------------------------------------------------------------

    def _phantom_item(self, index: int) -> np.ndarray:
        cached = self._cache.get(("phantom", index))
        if cached is not None:
            return cached
        hu = make_phantom(self.size, seed=derived_seed(self.seed, index))
        unit = hu_to_unit(hu, self.hu_window)
        self._cache.put(("phantom", index), unit)
        return unit

    # -- files ------------------------------------------------------------------------------

    def _load_unit_volume(self, v: int) -> np.ndarray:
        """Volume v checked, resampled, windowed to [-1, 1] (3D: also cropped/padded)."""
        cached = self._cache.get(("volume", v))
        if cached is not None:
            return cached
        path = self.paths[v]
        volume = load_volume(path)
        name = str(path)
        if self.dims == 3:
            array = validate_array(volume.array_hu, name, ndim=3)
        else:
            array = validate_array(volume.array_hu, name)
            if array.ndim == 2:
                array = array[:, :, None]
        spacing_mm = volume.spacing_mm if len(volume.spacing_mm) == 3 else (*volume.spacing_mm, 1)
        if self.spacing is not None:
            target = self.spacing if len(self.spacing) == 3 else (*self.spacing, spacing_mm[2])
            array = resample(array, spacing_mm, target)
        unit = hu_to_unit(array, self.hu_window)
        if self.dims == 3:
            unit = crop_or_pad(unit, self.size, fill=-1.0, pad=self.pad, name=name)
        else:
            in_plane = unit.shape[:2]
            if not self.pad and any(a < s for a, s in zip(in_plane, self.size, strict=True)):
                raise LpmError(
                    f"{name}: slices are {format_size(in_plane)}, smaller than the size "
                    f"{format_size(self.size)} and padding is off; use a smaller size or "
                    "allow padding."
                )
        self._cache.put(("volume", v), unit)
        return unit

    def _good_volume(self, v: int) -> tuple[int, np.ndarray]:
        """Volume v, or with skip_bad the next good one after it (warning once per file)."""
        count = len(self.paths)
        for step in range(count):
            w = (v + step) % count
            if w in self._bad:
                continue
            try:
                return w, self._load_unit_volume(w)
            except LpmError as exc:
                if not self.skip_bad:
                    raise
                self._bad[w] = str(exc)
                log.warning("skipping bad volume: %s", exc)
        raise LpmError(
            f"{self.source}: all {count} volumes are bad (first problem: "
            f"{next(iter(self._bad.values()))}); fix the data."
        )

    def _file_item(self, index: int) -> np.ndarray:
        v, unit = self._good_volume(index % len(self.paths))
        if self.dims == 3:
            return unit
        # Axial slice drawn per index, among slices with contrast inside the window.
        candidates = self._slices.get(v)
        if candidates is None:
            spread = unit.max(axis=(0, 1)) - unit.min(axis=(0, 1))
            candidates = np.flatnonzero(spread > 0)
            if candidates.size == 0:
                candidates = np.arange(unit.shape[2])
            self._slices[v] = candidates
        rng = np.random.default_rng(derived_seed(self.seed, index))
        k = int(candidates[rng.integers(candidates.size)])
        return crop_or_pad(
            unit[:, :, k], self.size, fill=-1.0, pad=self.pad, name=f"{self.paths[v]} slice {k}"
        )

    @property
    def bad_files(self) -> dict[str, str]:
        """Files skipped so far (skip_bad=True) and why."""
        return {str(self.paths[v]): why for v, why in self._bad.items()}


def collate(batch: Sequence[Any]) -> torch.Tensor:
    """Stack items into a batch, refusing mixed shapes and non-finite values.

    Items are tensors or dicts with an "image" tensor (and optionally a "path" naming the
    file). Raises LpmError naming the items (and files) whose shape differs.
    """
    if len(batch) == 0:
        raise LpmError("cannot make a batch from no items; check the data set is not empty.")
    images: list[torch.Tensor] = []
    names: list[str] = []
    for i, item in enumerate(batch):
        if isinstance(item, dict):
            image = item["image"]
            names.append(str(item.get("path", f"item {i}")))
        else:
            image = item
            names.append(f"item {i}")
        images.append(torch.as_tensor(image))
    first = tuple(images[0].shape)
    for name, image in zip(names, images, strict=True):
        if tuple(image.shape) != first:
            raise LpmError(
                f"batch has mixed shapes: {names[0]} is {format_size(first)} but {name} is "
                f"{format_size(tuple(image.shape))}; crop or pad all images to one size "
                "(CTDataset does this with size=...)."
            )
    stacked = torch.stack(images)
    if stacked.is_floating_point() and not torch.isfinite(stacked).all():
        bad = [n for n, im in zip(names, images, strict=True) if not torch.isfinite(im).all()]
        raise LpmError(f"batch has NaN or infinite values in {', '.join(bad)}; check the data.")
    return stacked
