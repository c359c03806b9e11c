"""A torchrun entry point like lpm.study.ddp, without a model: rank 0 writes the result."""

import json
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    config = json.loads(Path(sys.argv[1]).read_text())
    if config.get("fail"):
        print("simulated rank failure", file=sys.stderr)
        raise SystemExit(3)
    if os.environ["RANK"] == "0":
        result = {
            "world_size": int(os.environ["WORLD_SIZE"]),
            "threads": os.environ["OMP_NUM_THREADS"],
            "iterations": config["iterations"],
        }
        Path(sys.argv[2]).write_text(json.dumps(result))
