"""One rank of a 2-process transformers.Trainer run on CPU (gloo), launched like torchrun does.

argv: log_dir out_json. The environment carries MASTER_ADDR/PORT, WORLD_SIZE, RANK and
LOCAL_RANK, which accelerate reads to join the job (env://, gloo on CPU). The model is a
tiny GPT-2 built from a config: nothing is downloaded.
"""

from __future__ import annotations

import os
import sys

from transformers import Trainer, TrainingArguments

from lpm.integrations.huggingface import EnergyCallback
from tests.integrations.ddp_launch import write_result
from tests.integrations.tiny_models import tiny_gpt2


def main() -> None:
    log_dir, out = sys.argv[1], sys.argv[2]
    model, data = tiny_gpt2(16)
    args = TrainingArguments(
        output_dir=os.path.join(log_dir, "..", "out"),
        max_steps=6,
        per_device_train_batch_size=2,
        per_device_eval_batch_size=4,
        eval_strategy="steps",
        eval_steps=3,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        ddp_backend="gloo",
        disable_tqdm=True,
    )
    callback = EnergyCallback(log_dir=log_dir, run_name="ddp", warmup_steps=1)
    trainer = Trainer(
        model=model, args=args, train_dataset=data, eval_dataset=data[:8], callbacks=[callback]
    )
    trainer.train()
    write_result(out, callback, args.process_index, world_size=args.world_size)


if __name__ == "__main__":
    main()
