"""The output guard of `lpm train`, `lpm train-autoencoder` and `lpm sample`.

Checked before any work, so that a wrong `--out` costs nothing already written: an
`--out` that is a file, or whose nearest existing folder cannot be written, is refused;
so is a folder holding another kind of lpm run (samples for a training stage, a training
run for sampling, one training stage for the other), told in words. A folder that holds
samples is replaced only when asked (`SampleConfig.replace`, `lpm sample --replace`).
Reads nothing but file names and small JSON files: no torch.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.io import read_json_object

AUTOENCODER = "autoencoder"
DIFFUSION = "diffusion"
SAMPLES = "samples"

WORDS: dict[str, str] = {
    AUTOENCODER: "an autoencoder run (`lpm train-autoencoder`)",
    DIFFUSION: "a diffusion training run (`lpm train`)",
    SAMPLES: "samples (`lpm sample`)",
}

# What a sampling run leaves in its folder; --replace removes these before sampling again.
SAMPLE_PATTERNS: tuple[str, ...] = (
    "sample_*.nii.gz",
    "sample_*.png",
    "summary.json",
    "quality.json",
    "quality.html",
)


def _kind_of_settings(data: dict[str, Any]) -> str | None:
    """The kind of run a config.json / summary.json describes, if it says."""
    stage = data.get("stage")
    if stage in (AUTOENCODER, DIFFUSION):
        return str(stage)
    if "samples" in data and "steps" in data:
        return SAMPLES
    if "objective" in data or "model" in data:
        return DIFFUSION
    if "downsample" in data and "num_embeddings" in data:
        return AUTOENCODER
    return None


def run_kinds(folder: str | Path) -> set[str]:
    """The kinds of lpm run whose files are directly in FOLDER (empty for anything else).

    From the model files (ldm.pt, autoencoder.pt), config.json and summary.json, the
    energy records' names (train-*, train-autoencoder-*, sample-*.jsonl), losses.jsonl and
    sample_*.nii.gz; a training run killed before its first checkpoint is known by its
    record.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return set()
    kinds: set[str] = set()
    if (folder / "ldm.pt").exists() or (folder / "losses.jsonl").exists():
        kinds.add(DIFFUSION)
    if (folder / "autoencoder.pt").exists():
        kinds.add(AUTOENCODER)
    for name in ("config.json", "summary.json"):
        kind = (
            _kind_of_settings(read_json_object(folder / name))
            if (folder / name).is_file()
            else None
        )
        if kind is not None:
            kinds.add(kind)
    for record in folder.glob("*.jsonl"):
        name = record.name
        if name.startswith("train-autoencoder-"):
            kinds.add(AUTOENCODER)
        elif name.startswith("train-"):
            kinds.add(DIFFUSION)
        elif name.startswith("sample-"):
            kinds.add(SAMPLES)
    if next(folder.glob("sample_*.nii.gz"), None) is not None:
        kinds.add(SAMPLES)
    return kinds


def _nearest_existing(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path(".")


def check_writable(out: str | Path, *, option: str = "--out") -> Path:
    """OUT as a folder lpm can create and write; LpmError (one line) when it cannot be.

    Refused: OUT (or a folder above it) is a file, or the nearest existing folder does not
    take a new file (read-only, /proc, no permission): a temporary file is made there and
    removed at once, which is also how root is told a read-only place.
    """
    out = Path(out)
    base = _nearest_existing(out)
    if not base.is_dir():
        what = f"{option} {out} is a file" if base == out else f"{base} (above {out}) is a file"
        raise LpmError(f"{what}; give {option} a folder (new or one lpm wrote).")
    try:
        fd, probe = tempfile.mkstemp(prefix=".lpm-probe-", dir=base)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise LpmError(
            f"cannot write {option} {out}: {base} does not take new files ({reason}); "
            "choose a writable folder."
        ) from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)
    return out


def _kinds_in_words(kinds: set[str]) -> str:
    return " and ".join(WORDS[k] for k in sorted(kinds))


def check_output(out: str | Path, kind: str, *, replace: bool = False) -> Path:
    """Refuse (LpmError) an OUT that a run of KIND would damage; return it.

    KIND is "autoencoder", "diffusion" or "samples". A training stage may write into its
    own kind of run (that is how it resumes); sampling into a folder that holds samples
    needs REPLACE.
    """
    if kind not in WORDS:
        raise ValueError(f"unknown kind of run {kind!r}; one of {sorted(WORDS)}")
    out = check_writable(out)
    kinds = run_kinds(out)
    others = kinds - {kind}
    if others:
        raise LpmError(
            f"--out {out} holds {_kinds_in_words(others)}, not {WORDS[kind]}; writing there "
            "would replace its files, so use another --out."
        )
    if kind == SAMPLES and SAMPLES in kinds and not replace:
        raise LpmError(
            f"--out {out} already holds samples; pass --replace to replace them or use "
            "another --out."
        )
    return out


def clear_samples(out: str | Path) -> int:
    """Remove what an earlier sampling run left in OUT (SAMPLE_PATTERNS); the files removed."""
    removed = 0
    for pattern in SAMPLE_PATTERNS:
        for path in Path(out).glob(pattern):
            if path.is_file():
                path.unlink()
                removed += 1
    return removed


__all__ = [
    "AUTOENCODER",
    "DIFFUSION",
    "SAMPLES",
    "SAMPLE_PATTERNS",
    "WORDS",
    "check_output",
    "check_writable",
    "clear_samples",
    "run_kinds",
]
