"""The seed paper's numbers that a study is compared with.

Source: Seyfarth, Dar, Engelhardt, "Latent Pollution Model: The Hidden Carbon Footprint in
3D Image Synthesis" (2024), §2.1–§3.4, Figs. 1–4 and Table 1 (source id ``paper2024``).
All CO2e values there use Eq. 1 with PUE 1.55 and CI_EU27 = 251 g/kWh unless noted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PAPER_ID = "paper2024"
PAPER_TITLE = (
    "Seyfarth, Dar, Engelhardt (2024): Latent Pollution Model: "
    "The Hidden Carbon Footprint in 3D Image Synthesis"
)
PAPER_HARDWARE = "one NVIDIA A100-SXM4-40GB GPU and two AMD EPYC 7513 CPUs"
PAPER_MEASURED = "6000 training iterations and 50 samples, measured with Carbontracker"
PAPER_TARGETS = {"train_iterations": 150_000, "samples": 10_000, "steps": 1000}
PAPER_SIZES: dict[int, tuple[tuple[int, ...], ...]] = {
    2: ((192, 192), (256, 256), (320, 320), (512, 512)),
    3: ((64, 64, 64), (128, 128, 128), (192, 192, 192), (256, 256, 192)),
}
#: §3.2: model sizes were compared at 256² (2D) and 192³ (3D).
PAPER_MODEL_SIZE_IMAGE: dict[int, tuple[int, ...]] = {2: (256, 256), 3: (192, 192, 192)}


@dataclass(frozen=True)
class SizeRange:
    """CO2e (kg, EU27) at the smallest and largest image size of §3.1."""

    dims: int
    phase: str
    low: str  # "0.40 ± 0.16", as printed in the paper (kg CO2e)
    high: str

    @property
    def low_kg(self) -> float:
        return float(self.low.split("±")[0])

    @property
    def high_kg(self) -> float:
        return float(self.high.split("±")[0])

    @property
    def small(self) -> tuple[int, ...]:
        return PAPER_SIZES[self.dims][0]

    @property
    def large(self) -> tuple[int, ...]:
        return PAPER_SIZES[self.dims][-1]

    @property
    def ratio(self) -> float:
        return self.high_kg / self.low_kg

    @property
    def exponent(self) -> float:
        """b in CO2e ∝ (pixel or voxel count)^b between the smallest and largest size."""
        return math.log(self.ratio) / math.log(math.prod(self.large) / math.prod(self.small))


#: §3.1, text next to Fig. 1 (training: 150k iterations; synthesis: 10k samples).
SIZE_RANGES: dict[tuple[str, int], SizeRange] = {
    ("training", 2): SizeRange(2, "training", "0.40 ± 0.16", "0.79 ± 0.20"),
    ("training", 3): SizeRange(3, "training", "0.74 ± 0.22", "9.0 ± 0.9"),
    ("synthesis", 2): SizeRange(2, "synthesis", "3.83 ± 0.07", "18.2 ± 0.3"),
    ("synthesis", 3): SizeRange(3, "synthesis", "5.95 ± 0.17", "362.3 ± 1.0"),
}
#: §3.2: increase from the small to the large model, in percent.
MODEL_SIZE_INCREASE_PCT: dict[str, tuple[float, float]] = {
    "training": (30.0, 40.0),
    "synthesis": (60.0, 80.0),
}
#: §3.4: 200 instead of 1000 inference steps reduce synthesis emissions by 80 %.
STEPS_PAIR = (200, 1000)
STEPS_CHANGE_PCT = -80.0
#: §3.4: 4 GPUs vs 1 GPU (same batch size per GPU): no significant reduction (3D).
PROCESSES_PAIR = (1, 4)
#: §3.3 and abstract: Sweden 4.3 kg vs Poland 405 kg, "up to 94 times" (Table 1 CIs).
REGION_RATIO = 94.0
REGION_LOW = ("SE", "4.3")
REGION_HIGH = ("PL", "405")
TABLE1_G_PER_KWH = {"EU27": 251, "SE": 7, "DE": 366, "PL": 666, "CN": 582, "US": 390}
#: §3.3: "up to 50 %" between months, Germany 2022 (December vs February).
MONTH_VARIATION_PCT = 50.0
MONTH_PAIR = ("December", "February")
#: Fig. 1 caption: 3D synthesis reaches 33.7 % of the annual per-capita budget (1500 km).
BUDGET_SHARE_3D_SYNTHESIS = 0.337
