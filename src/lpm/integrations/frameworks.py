"""Which frameworks lpm.integrations can hook into, whether each is installed, and importing one.

Nothing here imports a framework to find out whether it is there (``find_spec`` and package
metadata only); :func:`require` imports it when an integration is used, and a missing one is
an :class:`~lpm.errors.LpmError` that names the pip command.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from types import ModuleType

from lpm.errors import LpmError

__all__ = ["FRAMEWORKS", "Framework", "FrameworkStatus", "missing", "require", "status", "statuses"]


@dataclass(frozen=True)
class Framework:
    """One framework: its name in lpm, the modules that provide it, and how to install it."""

    name: str
    modules: tuple[str, ...]  # the first one found is used
    distributions: tuple[str, ...]  # package names whose version is reported
    pip: str
    hook: str  # what lpm offers for it
    also: tuple[str, ...] = ()  # modules it needs besides (transformers.Trainer: accelerate)

    def install_hint(self) -> str:
        return f"pip install {self.pip}"


FRAMEWORKS: dict[str, Framework] = {
    f.name: f
    for f in (
        Framework(
            "ignite",
            ("ignite",),
            ("pytorch-ignite",),
            "pytorch-ignite",
            "lpm.integrations.ignite.EnergyHandler (MONAI engines, any Ignite Engine)",
        ),
        Framework(
            "lightning",
            ("lightning.pytorch", "pytorch_lightning"),
            ("lightning", "pytorch-lightning"),
            "lightning",
            "lpm.integrations.lightning.EnergyCallback",
        ),
        Framework(
            "huggingface",
            ("transformers",),
            ("transformers",),
            "transformers accelerate",
            "lpm.integrations.huggingface.EnergyCallback",
            also=("accelerate",),
        ),
        Framework(
            "tensorboard",
            ("tensorboard",),
            ("tensorboard",),
            "tensorboard",
            "loggers=[SummaryWriter(...)] on any integration",
        ),
        Framework(
            "mlflow",
            ("mlflow",),
            ("mlflow", "mlflow-skinny"),
            "mlflow-skinny",
            "the active MLflow run, or loggers=[run]",
        ),
        Framework("wandb", ("wandb",), ("wandb",), "wandb", "the active W&B run, or loggers=[run]"),
    )
}


@dataclass(frozen=True)
class FrameworkStatus:
    """Whether one framework is installed here, as which module and version."""

    name: str
    installed: bool
    module: str | None
    version: str | None
    pip: str
    hook: str

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "installed": self.installed,
            "module": self.module,
            "version": self.version,
            "install": f"pip install {self.pip}",
            "hook": self.hook,
        }


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing or half-installed
        return False


def _version(framework: Framework) -> str | None:
    for dist in framework.distributions:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _framework(name: str) -> Framework:
    framework = FRAMEWORKS.get(name)
    if framework is None:
        raise LpmError(f"unknown integration {name!r}; choose one of {', '.join(FRAMEWORKS)}")
    return framework


def status(name: str) -> FrameworkStatus:
    """Whether framework ``name`` is installed (imports nothing); LpmError for an unknown name."""
    framework = _framework(name)
    module = next((m for m in framework.modules if _found(m)), None)
    if not all(_found(m) for m in framework.also):
        module = None
    return FrameworkStatus(
        name=framework.name,
        installed=module is not None,
        module=module,
        version=_version(framework) if module is not None else None,
        pip=framework.pip,
        hook=framework.hook,
    )


def statuses() -> list[FrameworkStatus]:
    """Every framework's status, in the order of :data:`FRAMEWORKS`."""
    return [status(name) for name in FRAMEWORKS]


def missing(name: str, what: str | None = None) -> LpmError:
    """The one-line error for a framework that is not installed."""
    framework = _framework(name)
    return LpmError(
        f"{what or framework.name} needs {framework.name}, which is not installed; "
        f"install it with `{framework.install_hint()}` "
        '(or `pip install "latent-pollution[integrations]"` for all of them)'
    )


def require(name: str, module: str | None = None, what: str | None = None) -> ModuleType:
    """Import framework ``name`` (its first installed module, or ``module``); LpmError if absent."""
    framework = _framework(name)
    candidates = (module,) if module is not None else framework.modules
    if not all(_found(m) for m in framework.also):
        raise missing(name, what)
    for candidate in candidates:
        if not _found(candidate):
            continue
        try:
            return importlib.import_module(candidate)
        except ImportError as exc:
            raise LpmError(
                f"{candidate} is installed but cannot be imported ({exc}); "
                f"reinstall it with `{framework.install_hint()}`"
            ) from None
    raise missing(name, what)
