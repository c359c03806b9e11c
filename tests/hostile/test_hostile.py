"""Every command through a corpus of hostile inputs (issue 13).

For each case: exit code 0 or 2 (2 where nothing else is right), no traceback, nothing
written outside what the case names, and every file that existed before byte-identical
unless the command's job is to change it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_run import run_cli
from tests.hostile.corpus import Case, cases
from tests.hostile.world import build_world, copy_world, snapshot

# The output folders the corpus names with --out: a command may write inside its own
# output folder (the rule: nothing outside it, nothing that existed before).
OUTPUT_FOLDERS = ("t_new", "a_new", "s_new", "st_new", "to_new")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(tmp_path_factory.mktemp("hostile"))


def _allowed(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.id)
def test_hostile_input_keeps_the_promise(
    case: Case,
    world: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "root"
    work = root / "work"
    copy_world(world, work)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("ELECTRICITYMAPS_TOKEN", raising=False)
    monkeypatch.chdir(work)
    before = snapshot(root)

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
    may_write = tuple(f"work/{p}" for p in (*case.writes, *OUTPUT_FOLDERS))
    may_change = tuple(f"work/{p}" for p in case.changes) if code == 0 else ()
    changed = [p for p, h in before.items() if after.get(p) != h and not _allowed(p, may_change)]
    assert not changed, f"changed or removed: {changed[:5]}"
    new = [p for p in after if p not in before and not _allowed(p, may_write + may_change)]
    assert not new, f"written where it may not: {new[:5]}"
