"""One rank of a 2-rank Lightning DDP fit on CPU (gloo), launched like torchrun does.

argv: log_dir out_json. The environment carries MASTER_ADDR/PORT, WORLD_SIZE, RANK,
LOCAL_RANK and NODE_RANK, so Lightning joins the job instead of spawning processes.
"""

from __future__ import annotations

import sys

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from lpm.integrations.lightning import EnergyCallback
from tests.integrations.ddp_launch import write_result
from tests.integrations.tiny_models import lightning_module_class


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
    trainer.fit(lightning_module_class(pl)(), DataLoader(data, batch_size=4))
    write_result(out, callback, trainer.global_rank)


if __name__ == "__main__":
    main()
