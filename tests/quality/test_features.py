"""Feature extractors: a run-independent encoder, ResNet-50 (2D, 2.5-D) and MedicalNet (3D)
from state dicts on disk (randomly initialised here: nothing is downloaded); files that are
not a state dict of the named network are one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lpm.errors import LpmError
from lpm.quality import Features, resnet_features
from lpm.quality.features import pool_mean_std
from lpm.quality.resnet import build_resnet50
from tests.quality.conftest import conv_features


@pytest.fixture(scope="module")
def resnet2d_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A torchvision-layout ResNet-50 state dict (with its 1000-class fc head)."""
    from monai.networks.nets import resnet50

    torch.manual_seed(0)
    net = resnet50(
        spatial_dims=2, n_input_channels=3, conv1_t_size=7, conv1_t_stride=2,
        bias_downsample=False, num_classes=1000,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("w") / "resnet50.pth"
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def medicalnet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A MedicalNet-style checkpoint: {'state_dict': {'module.…': …}} with a conv_seg head."""
    torch.manual_seed(1)
    state = {f"module.{k}": v for k, v in build_resnet50(3).state_dict().items()}
    state["module.conv_seg.0.weight"] = torch.zeros(2, 2048, 1, 1, 1)
    path = tmp_path_factory.mktemp("w") / "resnet_50_23dataset.pth"
    torch.save({"state_dict": state}, path)
    return path


def test_encoder_features_pool_mean_and_std(real: np.ndarray) -> None:
    feats = conv_features()
    assert isinstance(feats, Features)
    out = feats(real[:5])
    assert out.shape == (5, 16)
    maps = torch.arange(8.0).view(1, 2, 2, 2)
    assert pool_mean_std(maps)[0].tolist() == pytest.approx([1.5, 5.5, 1.118, 1.118], abs=1e-3)


def test_resnet50_2d_and_2p5d(resnet2d_file: Path, real: np.ndarray) -> None:
    feats = resnet_features(resnet2d_file, "resnet50")
    out = feats(real[:3])
    assert out.shape == (3, 2048) and np.isfinite(out).all()
    volumes = np.random.default_rng(0).uniform(-1000, 1000, (2, 16, 16, 12)).astype(np.float32)
    out3 = resnet_features(resnet2d_file, "resnet50", max_slices=4)(volumes)
    assert out3.shape == (2, 3 * 2048)  # axial, coronal, sagittal features concatenated


def test_medicalnet_3d(medicalnet_file: Path) -> None:
    volumes = np.random.default_rng(0).uniform(-1000, 1000, (2, 16, 16, 16)).astype(np.float32)
    out = resnet_features(medicalnet_file, "medicalnet")(volumes)
    assert out.shape == (2, 2048) and np.isfinite(out).all()


def test_files_that_are_not_the_named_network(
    tmp_path: Path, resnet2d_file: Path, medicalnet_file: Path
) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("not weights")
    other = tmp_path / "small.pth"
    torch.save(torch.nn.Linear(3, 2).state_dict(), other)
    cases = [
        (text, "resnet50", "is not a state dict of ResNet-50"),
        (other, "resnet50", "weights missing"),
        (medicalnet_file, "resnet50", "of another shape"),  # 3D kernels for a 2D net
        (resnet2d_file, "medicalnet", "of another shape"),
        (tmp_path / "missing.pth", "resnet50", "do not exist"),
        (resnet2d_file, "inception", "unknown feature net"),
    ]
    for path, net, message in cases:
        with pytest.raises(LpmError, match=message):
            resnet_features(path, net)
