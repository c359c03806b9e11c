"""ResNet-50 features from a state dict the user has on disk (never downloaded), built with
MONAI's ResNet: 2D (torchvision layout, ImageNet), 2.5-D (the 2D net on the axial, coronal
and sagittal planes of a volume, features concatenated, as MAISI's FID) and 3D (MedicalNet)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lpm.datasets import DEFAULT_HU_WINDOW
from lpm.errors import LpmError

FEATURE_NETS: tuple[str, ...] = ("resnet50", "medicalnet")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_HEADS = ("fc.", "conv_seg.")  # classification (torchvision) / segmentation (MedicalNet) heads
MAX_SLICES = 16


def build_resnet50(spatial_dims: int) -> torch.nn.Module:
    """MONAI ResNet-50 without its head: torchvision's layout (2D, 3 channels) or MedicalNet's
    (3D, 1 channel): 7-wide stride-2 stem, B shortcuts without bias."""
    from monai.networks.nets import resnet50

    return resnet50(
        spatial_dims=spatial_dims,
        n_input_channels=3 if spatial_dims == 2 else 1,
        conv1_t_size=7,
        conv1_t_stride=2,
        shortcut_type="B",
        bias_downsample=False,
        feed_forward=False,
    )


def _state_dict_of(blob: Any, path: Path, label: str) -> dict[str, torch.Tensor]:
    for key in ("state_dict", "model"):
        if isinstance(blob, Mapping) and isinstance(blob.get(key), Mapping):
            blob = blob[key]
    if not isinstance(blob, Mapping) or not blob:
        raise LpmError(f"{path} is not a state dict of {label}; give its weights file.")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in blob.items()):
        raise LpmError(f"{path} is not a state dict of {label} (it holds more than weights).")
    weights = {k.removeprefix("module."): v for k, v in blob.items()}
    return {k: v for k, v in weights.items() if not k.startswith(_HEADS)}


def load_weights(model: torch.nn.Module, path: str | Path, label: str) -> torch.nn.Module:
    """Load a state dict file into `model` (prefix 'module.' and head weights dropped); one
    LpmError unless every weight is there with its shape."""
    path = Path(path)
    if not path.is_file():
        raise LpmError(f"feature weights {path} do not exist; give a state dict file on disk.")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise LpmError(
            f"{path} is not a state dict of {label} ({type(exc).__name__}); give its weights."
        ) from None
    weights = _state_dict_of(blob, path, label)
    expected = model.state_dict()
    missing = [k for k in expected if k not in weights and not k.endswith("num_batches_tracked")]
    extra = [k for k in weights if k not in expected]
    wrong = [k for k in expected if k in weights and weights[k].shape != expected[k].shape]
    if missing or extra or wrong:
        first = (missing or extra or wrong)[0]
        raise LpmError(
            f"{path} is not a state dict of {label}: {len(missing)} weights missing, "
            f"{len(extra)} unexpected, {len(wrong)} of another shape (e.g. {first})."
        )
    model.load_state_dict(weights, strict=False)
    return model.eval().requires_grad_(False)


def _unit01(images_hu: np.ndarray, hu_window: tuple[float, float]) -> np.ndarray:
    low, high = hu_window
    return np.clip((np.asarray(images_hu, np.float32) - low) / (high - low), 0.0, 1.0)


class ResNet2DFeatures:
    """2048 features per 2D image (or 3 x 2048 per volume, 2.5-D) from a torchvision-layout
    ResNet-50: HU windowed to [0, 1], grey copied to RGB, ImageNet normalisation."""

    def __init__(
        self,
        weights: str | Path,
        *,
        hu_window: tuple[float, float] = DEFAULT_HU_WINDOW,
        batch_size: int = 32,
        max_slices: int = MAX_SLICES,
    ) -> None:
        self.net = load_weights(build_resnet50(2), weights, "ResNet-50 (torchvision layout)")
        self.hu_window = hu_window
        self.batch_size = batch_size
        self.max_slices = max_slices
        self.name = f"ResNet-50 2D ({Path(weights).name})"

    def _slices(self, images01: np.ndarray) -> np.ndarray:
        mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
        out = []
        with torch.inference_mode():
            for start in range(0, len(images01), self.batch_size):
                x = torch.from_numpy(images01[start : start + self.batch_size, None])
                x = (x.expand(-1, 3, -1, -1) - mean) / std
                out.append(self.net(x).flatten(1).double().numpy())
        return np.concatenate(out)

    def __call__(self, images_hu: np.ndarray) -> np.ndarray:
        images = _unit01(images_hu, self.hu_window)
        if images.ndim == 3:
            return self._slices(images)
        planes = []
        for axis in (3, 2, 1):  # axial (x, y), coronal (x, z), sagittal (y, z) slices
            n = images.shape[axis]
            keep = np.unique(np.linspace(0, n - 1, min(n, self.max_slices)).round().astype(int))
            stack = np.moveaxis(np.take(images, keep, axis=axis), axis, 1)  # (N, k, a, b)
            feats = self._slices(np.ascontiguousarray(stack.reshape(-1, *stack.shape[2:])))
            planes.append(feats.reshape(len(images), len(keep), -1).mean(1))
        return np.concatenate(planes, axis=1)


class MedicalNetFeatures:
    """2048 features per volume from a MedicalNet 3D ResNet-50 (each volume z-scored over
    its voxels, as MedicalNet was trained)."""

    def __init__(
        self,
        weights: str | Path,
        *,
        hu_window: tuple[float, float] = DEFAULT_HU_WINDOW,
        batch_size: int = 4,
    ) -> None:
        self.net = load_weights(build_resnet50(3), weights, "MedicalNet ResNet-50 (3D)")
        self.hu_window = hu_window
        self.batch_size = batch_size
        self.name = f"MedicalNet ResNet-50 3D ({Path(weights).name})"

    def __call__(self, images_hu: np.ndarray) -> np.ndarray:
        if images_hu.ndim != 4:
            raise LpmError("MedicalNet features need 3D images; use --feature-net resnet50.")
        low, high = self.hu_window
        x = np.clip(np.asarray(images_hu, np.float32), low, high)
        flat = x.reshape(len(x), -1)
        x = (x - flat.mean(1)[:, None, None, None]) / (flat.std(1)[:, None, None, None] + 1e-6)
        out = []
        with torch.inference_mode():
            for start in range(0, len(x), self.batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(x[start : start + self.batch_size]))
                out.append(self.net(batch[:, None]).flatten(1).double().numpy())
        return np.concatenate(out)


def resnet_features(
    weights: str | Path, net: str = "resnet50", **kwargs: Any
) -> ResNet2DFeatures | MedicalNetFeatures:
    """Features from a ResNet-50 state dict on disk: net 'resnet50' (2D; 2.5-D on volumes)
    or 'medicalnet' (3D)."""
    if net == "resnet50":
        return ResNet2DFeatures(weights, **kwargs)
    if net == "medicalnet":
        return MedicalNetFeatures(weights, **kwargs)
    raise LpmError(f"unknown feature net {net!r}; choose one of {', '.join(FEATURE_NETS)}.")
