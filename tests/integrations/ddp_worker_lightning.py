"""One rank of a 2-rank Lightning DDP fit on CPU (gloo), launched like torchrun does.

argv: log_dir out_json. The environment carries MASTER_ADDR/PORT, WORLD_SIZE, RANK,
LOCAL_RANK and NODE_RANK, so Lightning joins the job instead of spawning processes.
"""

from __future__ import annotations

import sys
import time

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from lpm.integrations.lightning import EnergyCallback
from tests.integrations.ddp_launch import write_result


class Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def training_step(self, batch, idx):
        time.sleep(0.003)
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def main() -> None:
    log_dir, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(32, 8), torch.randn(32, 1))
    callback = EnergyCallback(log_dir=log_dir, run_name="ddp", warmup_steps=1)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp",
        max_epochs=2,
        callbacks=[callback],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Tiny(), DataLoader(data, batch_size=4))
    write_result(out, callback, trainer.global_rank)


if __name__ == "__main__":
    main()
