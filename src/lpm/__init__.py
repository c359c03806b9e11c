"""lpm — Latent Pollution Model.

Train and sample 2D/3D latent diffusion models on CT and measure, predict and explain
their energy use and CO2e (Eq. 1 of Seyfarth et al., 2024).
"""

from lpm.errors import LpmError

__version__ = "0.1.0"
__all__ = ["LpmError", "__version__"]
