"""The hostile inputs: every command, each bad value in each place it can go.

A case is one `lpm` command line run in a copy of the world (see world.py). What it may
write is named: files under `writes` may appear, files under `changes` may change when the
command succeeds; everything else that existed must stay byte-identical.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

# Bad numbers for every numeric option; the non-finite ones and text are never valid.
NUMBERS = ("nan", "inf", "-inf", "-1", "0", "1e300", "99999999999999999999", "abc", "")
NEVER_VALID = frozenset({"nan", "inf", "-inf", "abc", ""})
# Bad paths for every option that reads a file or a folder.
READ_PATHS = (
    "binary.bin",
    "empty.txt",
    "text.txt",
    "list.json",
    "folder",
    "missing/nowhere",
    "/proc/lpm-hostile",
    "x" * 300,
    "a\x01b",
)
NEVER_READABLE = frozenset({"missing/nowhere", "/proc/lpm-hostile", "x" * 300, "a\x01b"})
# Bad places for every option that writes.
WRITE_PATHS = ("text.txt", "binary.bin", "/proc/lpm-hostile", "x" * 300)
# Bad names.
NAMES = ("../../etc/evil", "a/b", "x" * 300, "a\x01b", "", "-")


@dataclass(frozen=True)
class Case:
    """One hostile command line and what it may touch."""

    id: str
    argv: tuple[str, ...]
    writes: tuple[str, ...] = ()  # relative folders/files that may be created
    changes: tuple[str, ...] = ()  # pre-existing files that may change on success
    must_fail: bool = False  # exit code 2 is the only right answer


def _with(base: list[str], option: str, value: str) -> list[str]:
    """BASE with OPTION set to VALUE (replaced if there, else put before any `--`)."""
    argv = list(base)
    if option in argv:
        argv[argv.index(option) + 1] = value
        return argv
    cut = argv.index("--") if "--" in argv else len(argv)
    return [*argv[:cut], option, value, *argv[cut:]]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _short(value: str) -> str:
    return value if len(value) <= 20 else f"{value[:6]}...{len(value)}"


TRACK = ["track", "--log-dir", "out_recs", "--simulate-cpu-watts", "5"]
TRACK_CMD = ["--", sys.executable, "-c", "pass"]
CHEAP: dict[str, tuple[list[str], tuple[str, ...], tuple[str, ...]]] = {
    # name: (valid argv, numeric options, what it may write)
    "co2": (["co2", "--kwh", "1"], ("--kwh", "--kwh-std", "--pue", "--year", "--months"), ()),
    "co2-hour": (["co2", "--kwh", "1", "--month", "2023-05"], ("--hour",), ()),
    "track": (
        [*TRACK, *TRACK_CMD],
        (
            "--pue",
            "--interval",
            "--checkpoint",
            "--simulate-cpu-watts",
            "--simulate-gpus",
            "--simulate-gpu-watts",
        ),
        ("out_recs",),
    ),
    "plan": (
        ["plan", "--kwh", "1", "--hours", "2", "--region", "DE"],
        ("--kwh", "--kwh-std", "--hours", "--pue", "--chunk", "--resume-kwh", "--within"),
        (),
    ),
    "train": (  # --dry-run: every check, the memory estimate, nothing trained
        [*_words("train --dims 2 --size 32 --autoencoder ae --out t_new --dry-run")],
        _words(
            "--iterations --batch-size --lr --ema-decay --seed --global-batch --grad-clip "
            "--beta-start --beta-end --num-train-timesteps --checkpoint-every "
            "--validation-samples --validation-steps --n-items --num-workers "
            "--cache-latents-mb --interval-s --pue --size --warmup-iterations"
        ),
        ("t_new",),
    ),
    "train-autoencoder": (
        [*_words("train-autoencoder --dims 2 --size 32 --out a_new --dry-run")],
        _words(
            "--iterations --batch-size --lr --lr-discriminator --downsample "
            "--latent-channels --num-embeddings --channels --adv-weight "
            "--adv-warmup-iterations --perceptual-weight --checkpoint-every --seed "
            "--n-items --num-workers --warmup-iterations --interval-s --pue --size"
        ),
        ("a_new",),
    ),
    "sample": (
        [*_words("sample --run ldm --out s_new --dry-run")],
        ("--n", "--steps", "--batch-size", "--seed", "--warmup-steps", "--interval-s", "--pue"),
        ("s_new",),
    ),
    "study": (
        ["study", "--preset", "quick", "--out", "st_new", "--dry-run"],
        ("--workers", "--slurm-timeout-min"),
        ("st_new",),
    ),
}
# Commands that do real work when they accept: only values that must be refused.
COSTLY: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "evaluate": (
        ["evaluate", "--samples", "folder", "--run", "ldm"],
        ("--n-real", "--n-train", "--bootstrap", "--real-seed", "--seed"),
    ),
    "tradeoff": (
        ["tradeoff", "--run", "ldm", "--out", "to_new"],
        ("--samples", "--tolerance", "--pue", "--seed", "--steps", "--batches", "--energy-steps"),
    ),
}
READERS: list[tuple[str, list[str], str]] = [
    # (id, argv before the path, option or "" for an argument)
    ("runs-show", ["runs", "show"], ""),
    ("runs-export", ["runs", "export"], ""),
    ("report", ["report"], ""),
    ("study-spec", ["study", "--out", "st_new", "--dry-run"], ""),
    ("plan-record", ["plan", "--region", "DE"], "--record"),
    ("plan-study", ["plan", "--region", "DE"], "--study"),
    ("plan-csv", ["plan", "--kwh", "1", "--hours", "2"], "--intensity-csv"),
    ("plan-run", ["plan", "--region", "DE"], "--run"),
    ("hardware", ["hardware"], "--powercap-root"),
    ("sample-run", ["sample", "--n", "1", "--out", "s_new"], "--run"),
    ("evaluate-samples", ["evaluate", "--run", "ldm"], "--samples"),
    ("tradeoff-run", ["tradeoff", "--out", "to_new"], "--run"),
    ("train-ae", ["train", "--dims", "2", "--size", "32", "--out", "t_new"], "--autoencoder"),
    ("train-config", ["train", "--out", "t_new"], "--config"),
    ("ae-config", ["train-autoencoder", "--out", "a_new"], "--config"),
    ("sample-config", ["sample", "--run", "ldm", "--steps", "2", "--out", "s_new"], "--config"),
]
WRITERS: list[tuple[str, list[str], str]] = [
    ("runs-export-csv", ["runs", "export", "recs"], "--csv"),
    ("track-log-dir", [*TRACK], "--log-dir"),
    ("plan-figure", ["plan", "--kwh", "1", "--hours", "2", "--region", "DE"], "--figure"),
    ("study-out", ["study", "--preset", "quick", "--dry-run"], "--out"),
    ("sample-out", ["sample", "--run", "ldm", "--n", "1", "--steps", "2"], "--out"),
    ("evaluate-out", ["evaluate", "--samples", "folder", "--run", "ldm"], "--out"),
]


def cases() -> list[Case]:
    """Every hostile case, with a readable id."""
    out: list[Case] = []
    for name, (base, options, writes) in CHEAP.items():
        for option in options:
            for value in NUMBERS:
                out.append(
                    Case(
                        f"{name} {option}={_short(value)!r}",
                        tuple(_with(base, option, value)),
                        writes=writes,
                        must_fail=value in NEVER_VALID,
                    )
                )
    for name in ("co2", "track", "plan"):  # --json: stdout is JSON, whatever is logged
        base, options, writes = CHEAP[name]
        for option in options:
            for value in ("0", "1e300", "nan"):
                out.append(
                    Case(
                        f"{name} --json {option}={value!r}",
                        tuple(_with([*base[:1], "--json", *base[1:]], option, value)),
                        writes=writes,
                        must_fail=value in NEVER_VALID,
                    )
                )
    for name, (base, options) in COSTLY.items():
        for option in options:
            for value in sorted(NEVER_VALID):
                out.append(
                    Case(
                        f"{name} {option}={value!r}",
                        tuple(_with(base, option, value)),
                        must_fail=True,
                    )
                )
    for name, base, option in READERS:
        for value in READ_PATHS:
            argv = _with(base, option, value) if option else [*base, value]
            writes = ("st_new",) if name == "study-spec" else ()
            if name == "report":
                writes = (f"{value}/figures", f"{value}/report.html")
            out.append(
                Case(
                    f"{name} {_short(value)!r}",
                    tuple(argv),
                    writes=writes,
                    # --powercap-root names where to look: none there is "no RAPL" (exit 0)
                    must_fail=value in NEVER_READABLE and name != "hardware",
                )
            )
    for name, base, option in WRITERS:
        for value in WRITE_PATHS:
            argv = _with(base, option, value)
            out.append(Case(f"{name} {_short(value)!r}", tuple(argv), must_fail=True))
    for value in NAMES:
        out.append(
            Case(
                f"track --run-name={_short(value)!r}",
                tuple(_with([*TRACK, *TRACK_CMD], "--run-name", value)),
                writes=("out_recs",),
                must_fail=True,
            )
        )
        out.append(
            Case(
                f"runs export --project-name={_short(value)!r}",
                ("runs", "export", "recs", "--csv", "new.csv", "--project-name", value),
                writes=("new.csv",),
            )
        )
    for bad in ("elapsed", "summary", "devices", "components", "started", "interval"):
        for command in (("runs", "show"), ("runs", "export")):
            out.append(
                Case(
                    f"{' '.join(command)} badrecs/{bad}",
                    (*command, f"badrecs/{bad}.jsonl"),
                )
            )
    for study in ("dims7", "months7", "binres", "binspec", "figfile", "htmldir"):
        out.append(
            Case(
                f"report study_{study}",
                ("report", f"study_{study}", "--no-claims"),
                writes=(f"study_{study}/figures", f"study_{study}/report.html"),
                must_fail=True,
            )
        )
    for csv in ("binary.bin", "export.csv"):
        out.append(
            Case(
                f"runs export --csv {csv}",
                ("runs", "export", "recs", "--csv", csv),
                changes=("export.csv",),
                must_fail=csv == "binary.bin",
            )
        )
    return out
