"""The files a hostile run works on: good inputs, bad inputs, and the runs they point at.

Built once per test session (a tiny autoencoder + LDM, a sample folder, a study, a run
record, an export CSV) and copied for every case, so each case starts from the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

from lpm.energy import SimulatedMeter, Tracker
from tests.ldm.helpers import set_threads, tiny_autoencoder, tiny_ldm
from tests.report.synthetic import write_study

BINARY = bytes(random.Random(13).randrange(256) for _ in range(512))


def build_world(root: Path) -> Path:
    """Write the shared inputs under ROOT/work; return that folder."""
    set_threads()
    work = root / "work"
    work.mkdir(parents=True)
    ae = tiny_autoencoder(work / "ae", dims=2, iterations=1)
    tiny_ldm(work / "ldm", ae, dims=2, iterations=1)
    write_study(work / "study")
    (work / "recs").mkdir()
    with Tracker(
        [SimulatedMeter(kind="cpu", watts=10.0, devices=1)],
        interval_s=0.05,
        log_dir=work / "recs",
        run_name="good",
    ) as tracker:
        tracker.step()
        tracker.step()
    (work / "binary.bin").write_bytes(BINARY)
    (work / "empty.txt").write_bytes(b"")
    (work / "text.txt").write_text("hello\n", encoding="utf-8")
    (work / "folder").mkdir()
    (work / "export.csv").write_text("a,b\n1,2", encoding="utf-8")  # no final newline
    (work / "list.json").write_text("[1, 2, 3]\n", encoding="utf-8")
    _bad_records(work / "badrecs")
    _bad_studies(work)
    return work


def _record_lines(work: Path) -> list[dict]:
    path = next((work / "recs").glob("*.jsonl"))
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _bad_records(folder: Path) -> None:
    """Records whose JSON is valid but whose types are not (one bad field each)."""
    folder.mkdir()
    good = _record_lines(folder.parent)
    mutations = {
        "elapsed": ("elapsed_s", "soon"),
        "summary": ("summary", 5),
        "devices": ("devices", "zzz"),
        "components": ("components", "nope"),
        "started": ("started_at", 12),
        "interval": ("interval_s", [1]),
    }
    for name, (field, value) in mutations.items():
        lines = []
        for line in good:
            line = dict(line)
            if field in line:
                line[field] = value
            lines.append(line)
        (folder / f"{name}.jsonl").write_text(
            "".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8"
        )
    (folder / "scalar.jsonl").write_text("5\n", encoding="utf-8")
    (folder / "binary.jsonl").write_bytes(BINARY)


def _bad_studies(work: Path) -> None:
    """Copies of the good study with one bad value each."""
    import yaml

    results = (work / "study" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(results[0])
    spec = yaml.safe_load((work / "study" / "spec.yaml").read_text(encoding="utf-8"))
    variants = {
        "dims7": ("results", lambda: _set_dims(first, 7)),
        "months7": ("spec", lambda: {**spec, "months": 7}),
        "binres": ("results-bytes", None),
        "binspec": ("spec-bytes", None),
    }
    for name, blocker in (("figfile", "figures"), ("htmldir", "report.html")):
        target = work / f"study_{name}"
        shutil.copytree(work / "study", target)
        if blocker == "figures":
            (target / blocker).write_text("mine\n", encoding="utf-8")
        else:
            (target / blocker).mkdir()
            (target / blocker / "keep.txt").write_text("mine\n", encoding="utf-8")
    for name, (what, make) in variants.items():
        target = work / f"study_{name}"
        shutil.copytree(work / "study", target)
        if what == "results":
            lines = [json.dumps(make()), *results[1:]]
            (target / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        elif what == "spec":
            (target / "spec.yaml").write_text(yaml.safe_dump(make()), encoding="utf-8")
        elif what == "results-bytes":
            (target / "results.jsonl").write_bytes(BINARY)
        else:
            (target / "spec.yaml").write_bytes(BINARY)


def _set_dims(record: dict, dims: int) -> dict:
    record = json.loads(json.dumps(record))

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "dims":
                    node[key] = dims
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(record)
    return record


SMALL = 256 * 1024  # files up to this size are hashed; larger ones compared by stat


def copy_world(world: Path, target: Path) -> None:
    """A copy of WORLD at TARGET: small files copied, large ones hard-linked (cheap).

    lpm replaces files atomically (a new inode), so a hard-linked input stays intact; an
    in-place write would change its mtime, which :func:`snapshot` sees.
    """

    def link_or_copy(src: str, dst: str) -> None:
        if os.path.getsize(src) > SMALL:
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(world, target, copy_function=link_or_copy)


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> content signature of everything under ROOT (folders as 'dir').

    Small files by sha256; large ones by size, mtime and inode (any write changes one).
    """
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "dir"
        for f in filenames:
            p = os.path.join(dirpath, f)
            key = os.path.relpath(p, root)
            if os.path.islink(p):
                out[key] = "link"
                continue
            st = os.stat(p)
            if st.st_size > SMALL:
                out[key] = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
            else:
                out[key] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
    return out
