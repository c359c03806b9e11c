"""The tiny models the integration tests train, in-process and as DDP workers alike."""

from __future__ import annotations

import time
from typing import Any

import torch


def tiny_gpt2(samples: int) -> tuple[Any, list[dict[str, torch.Tensor]]]:
    """A 1-layer GPT-2 built from a config (nothing downloaded) and SAMPLES token rows."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=64, n_positions=16)
    )
    data = [
        {"input_ids": torch.randint(0, 64, (8,)), "labels": torch.randint(0, 64, (8,))}
        for _ in range(samples)
    ]
    return model, data


def lightning_module_class(pl: Any) -> type:
    """A linear LightningModule of PL (lightning.pytorch or pytorch_lightning); each
    training step takes at least 3 ms, so that it has a measurable duration."""

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(8, 1)

        def training_step(self, batch, idx):
            time.sleep(0.003)
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x), y)

        def validation_step(self, batch, idx):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    return Tiny
