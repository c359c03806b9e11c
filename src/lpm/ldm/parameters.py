"""Parameter counts of lpm's networks, from their settings alone (no network is built).

Exact for MONAI 1.x: tests/ldm/test_memory.py checks each against the built network.
"""

from __future__ import annotations

from typing import Any

# MONAI DiffusionModelUNet parameters of each preset without conv_in and conv_out.
UNET_BODY: dict[tuple[int, str], int] = {
    (2, "small"): 1_112_192,
    (2, "medium"): 16_052_928,
    (2, "large"): 84_335_104,
    (3, "small"): 2_918_528,
    (3, "medium"): 17_343_296,
    (3, "large"): 69_322_368,
}
PERCEPTUAL_PARAMETERS = 25_557_032  # torchvision ResNet-50


def _conv(cin: int, cout: int, kernel: int, dims: int, bias: bool = True) -> int:
    return cin * cout * kernel**dims + (cout if bias else 0)


def unet_parameters(dims: int, model: str, latent_channels: int) -> int:
    """Parameters of a UNet preset (lpm.ldm.presets) for LATENT_CHANNELS in and out."""
    from lpm.ldm.presets import preset

    c0 = int(preset(dims, model)["channels"][0])
    io = _conv(latent_channels, c0, 3, dims) + _conv(c0, latent_channels, 3, dims)
    return UNET_BODY[(dims, model)] + io


def vqvae_parameters(kwargs: dict[str, Any]) -> tuple[int, int]:
    """(all, trainable) parameters of a MONAI VQVAE from lpm.ldm.presets.autoencoder_kwargs.

    The codebook (num_embeddings x embedding_dim) is updated by EMA, not by the optimiser.
    """
    d = int(kwargs["spatial_dims"])
    chans = [int(c) for c in kwargs["channels"]]
    res = [int(c) for c in kwargs["num_res_channels"]]
    layers = int(kwargs["num_res_layers"])
    lc = int(kwargs["embedding_dim"])
    ins = [int(kwargs["in_channels"]), *chans[:-1]]
    k = [int(p[1]) for p in kwargs["downsample_parameters"]]

    def unit(c: int, r: int) -> int:
        return _conv(c, r, 3, d) + _conv(r, c, 3, d)

    encoder = sum(
        _conv(ins[i], chans[i], k[i], d) + layers * unit(chans[i], res[i])
        for i in range(len(chans))
    ) + _conv(chans[-1], lc, 3, d)
    rchans, rres = chans[::-1], res[::-1]
    outs = [*rchans[1:], int(kwargs["out_channels"])]
    ku = [int(p[1]) for p in kwargs["upsample_parameters"]]
    decoder = _conv(lc, rchans[0], 3, d) + sum(
        layers * unit(rchans[i], rres[i]) + _conv(rchans[i], outs[i], ku[i], d)
        for i in range(len(chans))
    )
    trainable = encoder + decoder
    return trainable + int(kwargs["num_embeddings"]) * lc, trainable


def discriminator_parameters(kwargs: dict[str, Any]) -> int:
    """Parameters of MONAI's PatchDiscriminator from lpm.ldm.presets.discriminator_kwargs."""
    d, ch = int(kwargs["spatial_dims"]), int(kwargs["channels"])
    total = _conv(int(kwargs["in_channels"]), ch, 4, d)
    cin, cout = ch, ch * 2
    for _ in range(int(kwargs["num_layers_d"])):
        total += _conv(cin, cout, 4, d, bias=False) + 2 * cout  # conv + batch norm
        cin, cout = cout, cout * 2
    return total + _conv(cin, int(kwargs["out_channels"]), 4, d)


__all__ = [
    "PERCEPTUAL_PARAMETERS",
    "UNET_BODY",
    "discriminator_parameters",
    "unet_parameters",
    "vqvae_parameters",
]
