"""Presets: three sizes per dimension that grow in channels, blocks and attention."""

from __future__ import annotations

import pytest
import torch
from monai.networks.nets import VQVAE, DiffusionModelUNet

from lpm.errors import LpmError
from lpm.ldm import PRESETS, autoencoder_kwargs, preset, size_multiple


def _params(kwargs: dict) -> int:
    with torch.device("meta"):
        net = DiffusionModelUNet(**kwargs)
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("dims", [2, 3])
def test_presets_grow_from_small_to_large(dims: int) -> None:
    small, medium, large = (preset(dims, m) for m in ("small", "medium", "large"))
    counts = [_params(k) for k in (small, medium, large)]
    assert counts[0] < counts[1] < counts[2]
    assert sum(small["attention_levels"]) < sum(medium["attention_levels"])
    assert small["num_res_blocks"] < medium["num_res_blocks"]
    assert max(small["channels"]) < max(medium["channels"]) < max(large["channels"])


def test_every_preset_is_a_valid_monai_unet_with_sdpa() -> None:
    assert len(PRESETS) == 6
    for (dims, _model), kwargs in PRESETS.items():
        assert kwargs["spatial_dims"] == dims
        assert kwargs["use_flash_attention"] is True
        assert all(c % kwargs["norm_num_groups"] == 0 for c in kwargs["channels"])
        assert _params(kwargs) > 0


def test_preset_returns_a_fresh_dict() -> None:
    a = preset(2, "small")
    a["channels"] = (1,)
    assert preset(2, "small")["channels"] != (1,)


def test_bad_preset_names_are_user_errors() -> None:
    with pytest.raises(LpmError, match="unknown model 'huge'"):
        preset(2, "huge")
    with pytest.raises(LpmError, match="dims must be 2 or 3"):
        preset(4, "small")


@pytest.mark.parametrize(("factor", "expected"), [(4, 4), (8, 8)])
def test_autoencoder_downsamples_as_asked(factor: int, expected: int) -> None:
    net = VQVAE(**autoencoder_kwargs(2, downsample=factor, channels=8, num_embeddings=8))
    z = net.encode_stage_2_inputs(torch.zeros(1, 1, 32, 32))
    assert z.shape[-1] == 32 // expected
    assert size_multiple(2, "small", factor) == 4 * expected
