"""lpm.integrations: lpm's energy measurement inside the training people already have.

One line in each framework: :class:`lpm.integrations.ignite.EnergyHandler` (MONAI engines
and bundles, any Ignite ``Engine``), :class:`lpm.integrations.lightning.EnergyCallback`
(PyTorch Lightning, rank-aware under DDP), :class:`lpm.integrations.huggingface.EnergyCallback`
(``transformers.Trainer``), and :mod:`lpm.integrations.loggers` (TensorBoard, MLflow, W&B).
Each framework is optional and imported only when its integration is used; a missing one is
an ``LpmError`` with the pip command. :mod:`~lpm.integrations.frameworks` says which are
installed (``lpm integrations``). See docs/integrations.md.
"""

from lpm.integrations.frameworks import FRAMEWORKS, FrameworkStatus, require, status, statuses

__all__ = ["FRAMEWORKS", "FrameworkStatus", "require", "status", "statuses"]
