"""Image sizes checked against a model's downsampling (all of it lives in :mod:`lpm.sizes`).

Kept so that ``lpm.datasets.sizes`` and ``from lpm.datasets import check_divisible`` go on
working; the check itself needs no torch, so :mod:`lpm.ldm.config` imports it from
:mod:`lpm.sizes` without importing the datasets package.
"""

from __future__ import annotations

from lpm.sizes import Size, check_divisible, format_size, parse_size

__all__ = ["Size", "check_divisible", "format_size", "parse_size"]
