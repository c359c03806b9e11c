"""One rank of a 2-rank Ignite DDP training on CPU (gloo), launched like torchrun does.

argv: log_dir out_json. The environment carries MASTER_ADDR/PORT, WORLD_SIZE, RANK and
LOCAL_RANK; the rank joins the job with ``init_process_group("gloo")``, trains a
DistributedDataParallel Linear on its DistributedSampler shard and evaluates after each
epoch, both engines measured by one EnergyHandler.
"""

from __future__ import annotations

import sys
import time

import torch
import torch.distributed as dist
from ignite.engine import Engine, Events
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from lpm.integrations.ignite import EnergyHandler
from tests.integrations.ddp_launch import write_result


def main() -> None:
    log_dir, out = sys.argv[1], sys.argv[2]
    dist.init_process_group("gloo")
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(32, 8), torch.randn(32, 1))
    sampler = DistributedSampler(data, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=4, sampler=sampler)
    model = DistributedDataParallel(torch.nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def train_step(engine: Engine, batch) -> float:
        time.sleep(0.003)  # long enough for a power sample per window
        x, y = batch
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()  # the gradients' all-reduce: the ranks train in step
        optimizer.step()
        return float(loss)

    def eval_step(engine: Engine, batch) -> float:
        with torch.no_grad():
            x, y = batch
            return float(torch.nn.functional.mse_loss(model(x), y))

    trainer, evaluator = Engine(train_step), Engine(eval_step)
    handler = EnergyHandler(log_dir=log_dir, run_name="ddp", warmup_steps=1)
    handler.attach(trainer)
    handler.attach(evaluator)
    trainer.add_event_handler(Events.EPOCH_STARTED, lambda e: sampler.set_epoch(e.state.epoch))
    val = [(torch.randn(4, 8), torch.randn(4, 1))] * 2
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: evaluator.run(val))
    trainer.run(loader, max_epochs=2)

    rank = dist.get_rank()
    dist.destroy_process_group()
    write_result(out, handler, rank, metrics=dict(trainer.state.metrics))


if __name__ == "__main__":
    main()
