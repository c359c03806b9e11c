"""lpm.carbon: carbon accounting (Eq. 1), grid intensity tables and equivalents.

Pure Python (no torch, no numpy). See docs/carbon.md and docs/INTERFACES.md.
"""

from lpm.carbon.equivalents import Equivalents, equivalents
from lpm.carbon.footprint import (
    DEFAULT_PUE,
    DEFAULT_REGION,
    J_PER_KWH,
    Footprint,
    footprint,
    footprint_from_power,
    j_to_kwh,
    kwh_to_j,
)
from lpm.carbon.intensity import Intensity, IntensityDatabase

__all__ = [
    "DEFAULT_PUE",
    "DEFAULT_REGION",
    "J_PER_KWH",
    "Equivalents",
    "Footprint",
    "Intensity",
    "IntensityDatabase",
    "equivalents",
    "footprint",
    "footprint_from_power",
    "j_to_kwh",
    "kwh_to_j",
]
