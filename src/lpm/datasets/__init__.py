"""lpm.datasets: CT in and out — NIfTI, DICOM series, HU windowing, crop/pad, 2D slices,
synthetic CT phantoms, and the torch Dataset the models train on.

Axis order everywhere: volumes are (x, y, z) in the closest RAS+ orientation (x towards the
patient's right, y anterior, z superior; the order nibabel's canonical images use), 2D
images are axial (x, y) slices, and sizes such as 256x256x192 follow the same order.
"""

from lpm.datasets.dataset import CTDataset, collate, derived_seed
from lpm.datasets.intensity import DEFAULT_HU_WINDOW, hu_to_unit, to_hu
from lpm.datasets.phantom import TISSUE_HU, make_phantom
from lpm.datasets.preprocess import crop_or_pad, preprocess, resample, validate_array
from lpm.datasets.readers import list_volumes, load_volume
from lpm.datasets.sizes import check_divisible, format_size, parse_size
from lpm.datasets.volume import Volume
from lpm.datasets.writers import preview_image, write_nifti, write_png_preview

__all__ = [
    "DEFAULT_HU_WINDOW",
    "TISSUE_HU",
    "CTDataset",
    "Volume",
    "check_divisible",
    "collate",
    "crop_or_pad",
    "derived_seed",
    "format_size",
    "hu_to_unit",
    "list_volumes",
    "load_volume",
    "make_phantom",
    "parse_size",
    "preprocess",
    "preview_image",
    "resample",
    "to_hu",
    "validate_array",
    "write_nifti",
    "write_png_preview",
]
