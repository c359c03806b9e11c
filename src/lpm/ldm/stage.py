"""The one training-stage loop both stages (and any later one) plug into.

A stage gives a `TrainingStage` (restore, next_batch, step, state); this module does the
rest the same way for all: refuse a run directory holding other settings, resume at the
checkpoint's iteration, run the iterations in the Tracker's "train" windows up to each
checkpoint and write it in a "checkpoint" window, and write `summary.json` + `config.json`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from lpm.errors import LpmError
from lpm.io import atomic_write_text
from lpm.ldm import checkpoint as ckpt
from lpm.ldm import segments
from lpm.ldm.interrupted import Interrupted, training_interrupted
from lpm.ldm.progress import LiveProgress
from lpm.ldm.results import write_summary
from lpm.ldm.runtime import Runtime
from lpm.ldm.tracking import open_tracker, provenance_by_kind


class StageConfig(Protocol):
    """The settings the loop reads (AutoencoderConfig and TrainConfig have them)."""

    out: Path
    iterations: int
    checkpoint_every: int
    interval_s: float
    pue: float
    region: str
    warmup_iterations: int
    progress: bool

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


class TrainingStage(Protocol):
    """What a training stage plugs into the loop."""

    def restore(self, state: dict[str, Any]) -> int:
        """Load a checkpoint's state; return the iteration it was written at."""
        ...

    def next_batch(self) -> Any:
        """The next batch of the stage's data (after the first, taken before the loop)."""
        ...

    def step(self, iteration: int, batch: Any) -> dict[str, float]:
        """One iteration (0-based) on one batch; the values the progress bar shows."""
        ...

    def state(self, iteration: int) -> dict[str, Any]:
        """What a checkpoint after ITERATION iterations holds (a collective under DDP)."""
        ...

    def before_checkpoint(self) -> None:
        """Flush what must be on disk before the checkpoint is (on the main process)."""
        ...


def checkpoint_path(cfg: StageConfig) -> Path:
    """Where a stage's run keeps its last checkpoint: out/checkpoints/last.pt."""
    return Path(cfg.out) / "checkpoints" / ckpt.LAST


def resume_state(cfg: StageConfig, keys: tuple[str, ...], what: str) -> dict[str, Any] | None:
    """The run's last checkpoint, if any; LpmError when it was written with other KEYS."""
    path = checkpoint_path(cfg)
    if not path.exists():
        return None
    state = ckpt.load(path)
    saved = state.get("config", {})
    mine = cfg.model_dump(mode="json")
    if not isinstance(saved, dict) or any(key not in saved for key in keys):
        raise LpmError(
            f"{cfg.out} holds the checkpoint of another kind of run, not {what}; use another "
            "--out or delete that directory."
        )
    for key in keys:
        if saved.get(key) != mine.get(key):
            raise LpmError(
                f"{cfg.out} holds {what} with {key}={saved.get(key)}, not "
                f"{mine.get(key)}; use another --out or delete that directory."
            )
    return state


def resume(stage: TrainingStage, state: dict[str, Any] | None) -> int:
    """The iteration to start at: the checkpoint's (restored into STAGE), else 0."""
    return stage.restore(state) if state is not None else 0


def stage_tracker(cfg: StageConfig, *, meters: Any, run_name: str, rt: Runtime) -> Any:
    """The run's Tracker (not yet entered), writing its record into cfg.out."""
    return open_tracker(
        meters=meters,
        interval_s=cfg.interval_s,
        log_dir=Path(cfg.out),
        run_name=run_name,
        pue=cfg.pue,
        region=cfg.region,
        warmup_steps=cfg.warmup_iterations,
        cuda=rt.device.type == "cuda",
    )


def run_iterations(
    stage: TrainingStage,
    cfg: StageConfig,
    tracker: Any,
    *,
    start: int,
    first_batch: Any,
    label: str,
    is_main: bool = True,
    distributed: bool = False,
    earlier_segments: Sequence[dict[str, Any]] = (),
) -> None:
    """Iterations START..cfg.iterations: "train" windows, a checkpoint after each window.

    A window ends every cfg.checkpoint_every iterations and at the last; the checkpoint
    (out/checkpoints/last.pt, written atomically by the main process) is its own window.
    It holds the run's segments (:mod:`lpm.ldm.segments`): EARLIER_SEGMENTS (those of the
    checkpoint resumed from) and this process's, measured up to it (a collective when
    DISTRIBUTED).
    A Ctrl-C raises :class:`~lpm.ldm.interrupted.Interrupted` (a KeyboardInterrupt) that
    names the iteration and the checkpoint to resume from.
    """
    path = checkpoint_path(cfg)
    it = start
    saved_at = start if path.exists() else None
    try:
        with LiveProgress(
            label,
            cfg.iterations,
            tracker=tracker,
            enabled=cfg.progress and is_main,
            completed=start,
        ) as bar:
            while it < cfg.iterations:
                with tracker.window("train"):
                    while it < cfg.iterations:
                        batch = first_batch if it == start else stage.next_batch()
                        shown = stage.step(it, batch)
                        it += 1
                        tracker.step()
                        bar.advance(**shown)
                        if it % cfg.checkpoint_every == 0 or it == cfg.iterations:
                            break
                with tracker.window("checkpoint"):
                    snapshot = stage.state(it)
                    mine = segments.at_checkpoint(tracker, start, it, distributed=distributed)
                    snapshot[segments.KEY] = [*earlier_segments, mine]
                    if is_main:
                        stage.before_checkpoint()
                        ckpt.save_atomic(snapshot, path)
                saved_at = it
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise training_interrupted(label, it, cfg.iterations, path, saved_at) from None


def common_extra(
    summary: Any,
    rt: Runtime,
    *,
    start: int,
    cfg: StageConfig,
    segment_rows: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The `extra` fields every stage's result has (``segments``: the run's segments)."""
    return {
        "resumed_from": start,
        "segments": segment_rows or [{"start": start, "end": cfg.iterations}],
        "total_iterations": cfg.iterations,
        "provenance_by_kind": provenance_by_kind(summary),
        "facility_energy_kwh": float(summary.facility_energy_kwh),
        "amp_dtype": str(rt.amp_dtype).removeprefix("torch.") if rt.amp_dtype else None,
        "device": str(rt.device),
        "run_record": getattr(summary, "path", None),
    }


def write_outputs(result: Any, cfg: StageConfig) -> None:
    """summary.json (the result) and config.json (the settings) into cfg.out."""
    out = Path(cfg.out)
    write_summary(result, out / "summary.json")
    atomic_write_text(out / "config.json", json.dumps(cfg.model_dump(mode="json"), indent=2) + "\n")


__all__ = [
    "StageConfig",
    "TrainingStage",
    "checkpoint_path",
    "common_extra",
    "resume",
    "resume_state",
    "run_iterations",
    "stage_tracker",
    "write_outputs",
]
