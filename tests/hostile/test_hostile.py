"""Every command through a corpus of hostile inputs (issue 13).

For each case: exit code 0 or 2 (2 where nothing else is right), no traceback, nothing
written outside what the case names, and every file that existed before byte-identical
unless the command's job is to change it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli_run import run_cli
from tests.hostile.corpus import Case, cases
from tests.hostile.world import build_world, copy_world, snapshot

# The output folders the corpus names with --out: a command may write inside its own
# output folder (the rule: nothing outside it, nothing that existed before).
OUTPUT_FOLDERS = ("t_new", "a_new", "s_new", "st_new", "to_new")


class Arena:
    """One copy of the world that every case runs in, put back whenever a case changed it.

    Copying the world for each of ~900 cases cost more than the cases; most change
    nothing, so the copy is checked (snapshot) after each case and restored only if needed.
    """

    def __init__(self, world: Path, root: Path) -> None:
        self.world, self.root = world, root
        self.work = root / "work"
        self.home = root.parent / "home"
        self.reset()

    def reset(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)
        copy_world(self.world, self.work)
        self.home.mkdir(parents=True)
        self.before = snapshot(self.root)


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Arena:
    base = tmp_path_factory.mktemp("hostile")
    return Arena(build_world(base / "world"), base / "arena" / "root")


def _allowed(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.id)
def test_hostile_input_keeps_the_promise(
    case: Case,
    arena: Arena,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, home = arena.root, arena.home
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("ELECTRICITYMAPS_TOKEN", raising=False)
    monkeypatch.chdir(arena.work)
    before = arena.before

    code, out, err = run_cli(list(case.argv), capsys)

    assert "Traceback" not in out + err, err[-2000:]
    assert code in (0, 2), (code, err[-2000:])
    if case.must_fail:
        assert code == 2, f"accepted: {out[-500:]} {err[-500:]}"
    if code == 0 and "--json" in case.argv:
        json.loads(out)  # programs read stdout: JSON alone, everything else on stderr
    if code == 2:
        lines = [x for x in err.splitlines() if x.strip()]
        assert lines and lines[-1].startswith("error: "), err[-2000:]
    after = snapshot(root)
    if after != before or any(home.iterdir()):
        arena.reset()  # the next case starts from the same bytes
    may_write = tuple(f"work/{p}" for p in (*case.writes, *OUTPUT_FOLDERS))
    may_change = tuple(f"work/{p}" for p in case.changes) if code == 0 else ()
    changed = [p for p, h in before.items() if after.get(p) != h and not _allowed(p, may_change)]
    assert not changed, f"changed or removed: {changed[:5]}"
    new = [p for p in after if p not in before and not _allowed(p, may_write + may_change)]
    assert not new, f"written where it may not: {new[:5]}"
