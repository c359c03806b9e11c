"""Synthetic CT phantoms in Hounsfield units (the embedded default data set).

A phantom is a trunk from the upper abdomen to the thorax: body outline with a fat layer,
soft tissue, liver, spleen, kidneys, bowel gas, lungs, heart, aorta, a segmented spine and
ribs, plus Gaussian noise. Everything is drawn from one seed, so the same (shape, seed)
always gives the same volume. Axes follow lpm's volume order (x, y, z) = (towards the
patient's right, anterior, superior), the RAS+ order `load_volume` returns; a 2D phantom is
one axial (x, y) slice at a random height.

The tissue values are typical textbook values (see `TISSUE_HU` and docs/datasets.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lpm.errors import LpmError

# Typical CT numbers (HU). Sources: the table of radclass.mudr.org "Hounsfield units - scale
# of HU, CT numbers" (after Buzug 2008 and Prokop 2003): air -1000, lung parenchyma -850 to
# -910, fat -50 to -100, kidney 20 to 40, spleen 35 to 55, blood 45 to 65, liver 45 to 65,
# bone 700 to 3000; and UVM "Hounsfield Units" (uvm.edu/~rchawla): soft tissue +25 to +60,
# medullary bone about +300, cortical bone about +1000.
TISSUE_HU: dict[str, float] = {
    "air": -1000.0,
    "bowel_gas": -950.0,
    "lung": -860.0,
    "fat": -100.0,
    "soft_tissue": 40.0,
    "kidney": 30.0,
    "spleen": 45.0,
    "blood": 50.0,
    "liver": 60.0,
    "medullary_bone": 300.0,
    "rib": 800.0,
    "cortical_bone": 1000.0,
}

_MAX_VOXELS = 512 * 512 * 512


def _axis(n: int) -> np.ndarray:
    """Voxel centres of an axis of n voxels in [-1, 1]."""
    return ((np.arange(n, dtype=np.float32) + 0.5) * (2.0 / n) - 1.0).astype(np.float32)


def _check_shape(shape: Sequence[int] | int) -> tuple[int, ...]:
    try:
        out = (int(shape),) if isinstance(shape, int | np.integer) else tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise LpmError(f"phantom shape {shape!r} is not a tuple of whole numbers.") from None
    if len(out) not in (2, 3) or any(s < 4 for s in out):
        raise LpmError(
            f"phantom shape {shape!r} must have 2 or 3 axes of at least 4 voxels each, "
            "e.g. (256, 256) or (64, 64, 64)."
        )
    if int(np.prod(out)) > _MAX_VOXELS:
        raise LpmError(
            f"phantom shape {shape!r} has more than {_MAX_VOXELS} voxels; use a smaller size."
        )
    return out


class _Painter:
    """Paints ellipsoids and cylinders into an image on normalised (x, y, z) coordinates."""

    def __init__(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, image: np.ndarray) -> None:
        self.x, self.y, self.z, self.image = x, y, z, image

    def ellipsoid(self, centre: Sequence[float], radii: Sequence[float]) -> np.ndarray:
        cx, cy, cz = centre
        rx, ry, rz = radii
        return (
            np.square((self.x - cx) / rx)
            + np.square((self.y - cy) / ry)
            + np.square((self.z - cz) / rz)
        ) <= 1.0

    def ellipse(self, centre: Sequence[float], radii: Sequence[float]) -> np.ndarray:
        """An infinite elliptic cylinder along z."""
        (cx, cy), (rx, ry) = centre, radii
        return np.square((self.x - cx) / rx) + np.square((self.y - cy) / ry) <= 1.0

    def paint(self, mask: np.ndarray, value: float) -> None:
        self.image[np.broadcast_to(mask, self.image.shape)] = value


def make_phantom(
    shape: Sequence[int], *, seed: int = 0, noise_hu: float | None = None
) -> np.ndarray:
    """A synthetic CT image in HU, float32, of `shape` (2D (x, y) or 3D (x, y, z)).

    Randomised by `seed`: body size and position, fat thickness, organ sizes and positions,
    the diaphragm height, tissue values (a few HU around `TISSUE_HU`) and the noise level
    (8-20 HU standard deviation unless `noise_hu` is given). Any size; the anatomy scales
    with the field of view.
    """
    dims_shape = _check_shape(shape)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 0x1F4]))

    def jitter(value: float, spread: float) -> float:
        return float(value + rng.uniform(-spread, spread))

    if len(dims_shape) == 3:
        nx, ny, nz = dims_shape
        x = _axis(nx)[:, None, None]
        y = _axis(ny)[None, :, None]
        z = _axis(nz)[None, None, :]
    else:
        nx, ny = dims_shape
        x = _axis(nx)[:, None]
        y = _axis(ny)[None, :]
        z = np.float32(rng.uniform(-0.85, 0.85))
    image = np.full(dims_shape, TISSUE_HU["air"], dtype=np.float32)
    p = _Painter(x, y, z, image)

    # Body outline: an elliptic trunk, slightly narrower towards the top and bottom.
    bcx, bcy = rng.uniform(-0.05, 0.05), rng.uniform(-0.1, 0.0)
    brx, bry = rng.uniform(0.74, 0.9), rng.uniform(0.52, 0.66)
    taper = 1.0 - 0.06 * np.square(z)
    fat_frac = rng.uniform(0.05, 0.13)
    body = np.square((x - bcx) / (brx * taper)) + np.square((y - bcy) / (bry * taper))
    p.paint(body <= 1.0, jitter(TISSUE_HU["fat"], 10))
    inner_scale = (1.0 - fat_frac) ** 2
    inner = body <= inner_scale
    p.paint(inner, jitter(TISSUE_HU["soft_tissue"], 5))

    # Landmarks relative to the body.
    diaphragm = rng.uniform(-0.25, 0.15)
    spine_y = bcy - 0.5 * bry
    lung_top = diaphragm + rng.uniform(0.85, 1.1)

    def within(mask: np.ndarray) -> np.ndarray:
        return mask & inner

    # Abdomen: liver (patient's right, +x), spleen (left, posterior), kidneys, bowel gas.
    liver_c = (bcx + 0.3 * brx, bcy + 0.1 * bry, diaphragm - 0.15)
    liver_r = (rng.uniform(0.38, 0.5) * brx, rng.uniform(0.55, 0.7) * bry, rng.uniform(0.3, 0.4))
    p.paint(within(p.ellipsoid(liver_c, liver_r)), jitter(TISSUE_HU["liver"], 5))
    spleen_c = (bcx - 0.55 * brx, bcy - 0.2 * bry, diaphragm - 0.15)
    spleen_r = (0.15 * brx, rng.uniform(0.22, 0.3) * bry, rng.uniform(0.15, 0.22))
    p.paint(within(p.ellipsoid(spleen_c, spleen_r)), jitter(TISSUE_HU["spleen"], 5))
    kidney_z = diaphragm - rng.uniform(0.5, 0.65)
    for side in (1.0, -1.0):
        kc = (bcx + side * 0.36 * brx, spine_y + 0.15 * bry, kidney_z + rng.uniform(-0.05, 0.05))
        kr = (0.13 * brx, 0.2 * bry, rng.uniform(0.17, 0.23))
        p.paint(within(p.ellipsoid(kc, kr)), jitter(TISSUE_HU["kidney"], 5))
    for _ in range(int(rng.integers(3, 7))):
        gc = (
            bcx + rng.uniform(-0.5, 0.3) * brx,
            bcy + rng.uniform(0.1, 0.6) * bry,
            diaphragm - rng.uniform(0.45, 1.0),
        )
        gr = (rng.uniform(0.04, 0.1), rng.uniform(0.03, 0.08), rng.uniform(0.05, 0.15))
        p.paint(within(p.ellipsoid(gc, gr)), jitter(TISSUE_HU["bowel_gas"], 30))

    # Thorax: lungs above the diaphragm (domes from the ellipsoids), heart between them.
    lung_h = (lung_top - diaphragm) / 2.0 + 0.05
    for side, width in ((1.0, rng.uniform(0.26, 0.32)), (-1.0, rng.uniform(0.24, 0.3))):
        lc = (bcx + side * 0.42 * brx, bcy + 0.05 * bry, diaphragm + lung_h - 0.05)
        lr = (width * brx, rng.uniform(0.68, 0.8) * bry, lung_h)
        p.paint(within(p.ellipsoid(lc, lr)), jitter(TISSUE_HU["lung"], 25))
    heart_c = (bcx - 0.1 * brx, bcy + 0.3 * bry, diaphragm + rng.uniform(0.15, 0.25))
    heart_r = (rng.uniform(0.25, 0.32) * brx, rng.uniform(0.35, 0.45) * bry, 0.22)
    p.paint(within(p.ellipsoid(heart_c, heart_r)), jitter(TISSUE_HU["blood"], 5))
    aorta = p.ellipse((bcx - 0.08 * brx, spine_y + 0.25 * bry), (0.06 * brx, 0.09 * bry))
    p.paint(within(aorta & (z < lung_top - 0.1)), jitter(TISSUE_HU["blood"], 5))

    # Spine: vertebral bodies (cortical shell, medullary core) separated by discs, with a
    # spinal canal and a posterior arch.
    vert_period = rng.uniform(0.16, 0.22)
    disc = np.mod(z / vert_period + rng.uniform(0, 1), 1.0) < 0.18
    vr = (0.1 * brx, 0.15 * bry)
    vc = (bcx, spine_y)
    shell = p.ellipse(vc, vr)
    p.paint(shell & ~disc, jitter(TISSUE_HU["cortical_bone"], 40))
    core = p.ellipse(vc, (vr[0] * 0.78, vr[1] * 0.78))
    p.paint(core & ~disc, jitter(TISSUE_HU["medullary_bone"], 40))
    p.paint(shell & disc, jitter(TISSUE_HU["soft_tissue"] + 30, 10))
    canal_c = (bcx, spine_y - 0.22 * bry)
    arch = p.ellipse(canal_c, (0.09 * brx, 0.11 * bry))
    p.paint(arch & ~disc, jitter(TISSUE_HU["cortical_bone"] - 150, 40))
    p.paint(p.ellipse(canal_c, (0.05 * brx, 0.065 * bry)), jitter(TISSUE_HU["soft_tissue"] - 10, 5))
    spinous = p.ellipse((bcx, spine_y - 0.4 * bry), (0.025 * brx, 0.1 * bry))
    p.paint(within(spinous & ~disc), jitter(TISSUE_HU["cortical_bone"] - 150, 40))

    # Ribs: small bony cross-sections just inside the fat layer, in bands along z.
    rib_period = rng.uniform(0.14, 0.2)
    rib_phase = rng.uniform(0, 1)
    rib_ring = 0.92 * (1.0 - fat_frac)
    rib_value = jitter(TISSUE_HU["rib"], 60)
    for angle in np.deg2rad(np.r_[np.arange(200, 341, 20), np.arange(20, 161, 20)]):
        rx_c = bcx + rib_ring * brx * np.cos(angle)
        ry_c = bcy + rib_ring * bry * np.sin(angle)
        band = np.mod(z / rib_period + rib_phase + 0.1 * np.cos(angle), 1.0) < 0.45
        rib = p.ellipse((rx_c, ry_c), (0.045 * brx, 0.05 * bry))
        p.paint(rib & band & (z > diaphragm - 0.35) & (z < lung_top), rib_value)

    sigma = float(rng.uniform(8.0, 20.0)) if noise_hu is None else float(noise_hu)
    if sigma > 0:
        image += rng.standard_normal(dims_shape, dtype=np.float32) * np.float32(sigma)
    np.clip(image, -1024.0, 3071.0, out=image)
    return image
