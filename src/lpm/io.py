"""Small file I/O kit: atomic writes, fsync'd JSON Lines appends, YAML loading.

A leaf module (the standard library, PyYAML imported on use, and lpm.errors), so every
package may use it:

- :func:`atomic_write` yields a temporary file beside the target; when the block ends it
  is fsynced and renamed over the target, so a reader sees the old file or the new one,
  never half (:func:`atomic_write_text` and :func:`atomic_write_bytes` write one value);
- :func:`append_jsonl` appends lines, each written by :func:`write_line` (flushed and
  fsynced), after :func:`repair_jsonl_tail` cut a torn last line (one without its
  newline: a kill -9);
- :func:`load_yaml` reads a YAML file; every failure is one LpmError line;
- :func:`read_jsonl_objects` the JSON objects of a JSON Lines file, damaged lines left out;
  :func:`read_json_object` one JSON object of a small side file ({} when unreadable).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from lpm.errors import LpmError

log = logging.getLogger(__name__)


def fsync_dir(path: str | Path) -> None:
    """fsync a directory (so a rename in it is durable); silently skipped where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """A file to write `path`'s new content to, put in place whole when the block ends.

    The file is a temporary one in the target's folder (which must exist); at the end
    of the block it is flushed, fsynced and renamed over `path`, and the folder fsynced.
    An exception in the block removes it and leaves `path` as it was. `mode` is ``"wb"``
    or ``"w"`` (text in UTF-8).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write writes a whole file (mode 'wb' or 'w'), not {mode!r}")
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:64]}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # name the target, not the temporary file
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.replace(tmp, path)
        except OSError as exc:  # e.g. the target is a folder
            raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically (:func:`atomic_write`)."""
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (:func:`atomic_write`)."""
    with atomic_write(path) as fh:
        fh.write(data)
    return Path(path)


def write_line(fh: IO[str], line: str) -> None:
    """Write `line` and a newline to the open text file `fh`; flush and fsync it."""
    fh.write(line + "\n")
    fh.flush()
    os.fsync(fh.fileno())


def repair_jsonl_tail(path: str | Path) -> bool:
    """Cut a torn last line (no newline at the end: a write interrupted by a kill).

    Returns True when something was cut. A missing or empty file is left as it is.
    """
    path = Path(path)
    if not path.exists():
        return False
    with open(path, "rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return False
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return False
        fh.seek(0)
        keep = fh.read().rfind(b"\n") + 1
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    log.warning("cut a partly written line from the end of %s", path)
    return True


def append_jsonl(path: str | Path, lines: Iterable[str]) -> int:
    """Append JSON `lines` (without newlines) to `path`, each flushed and fsynced.

    A torn last line is cut first (:func:`repair_jsonl_tail`). Returns the number written.
    `lines` may be a generator: it is consumed while the file is open.
    """
    path = Path(path)
    repair_jsonl_tail(path)
    n = 0
    with open(path, "a", encoding="utf-8") as fh:
        for line in lines:
            write_line(fh, line)
            n += 1
    return n


def load_yaml(
    path: str | Path,
    *,
    what: str = "",
    missing: str = "give a YAML file",
    fix: str = "fix the syntax",
) -> Any:
    """The parsed YAML of `path`; a missing, unreadable or invalid file is one LpmError.

    `what` names the file in the message (``"study spec"``); `missing` and `fix` say what
    to do about a missing file and about invalid YAML.
    """
    import yaml

    path = Path(path)
    name = f"{what} {path}" if what else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LpmError(f"{name} does not exist; {missing}") from None
    except IsADirectoryError:
        raise LpmError(f"{name} is a folder, not a YAML file; {missing}") from None
    except UnicodeDecodeError:
        raise LpmError(f"{name} is not a text file (not UTF-8); {missing}") from None
    except OSError as exc:
        raise LpmError(f"{name} cannot be read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise LpmError(f"{name} is not valid YAML{where}; {fix}") from None


def read_jsonl_objects(path: str | Path, *, key: str | None = None) -> list[dict[str, Any]]:
    """The JSON objects, one per line, of `path` ([] when it does not exist).

    A line that is not JSON, not an object, or (with `key`) has no string `key` is left out:
    for side files lpm writes itself, where a torn or foreign line must not stop the reader.
    """
    import json

    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict) and (key is None or isinstance(item.get(key), str)):
            out.append(item)
    return out


def read_json_object(path: str | Path) -> dict[str, Any]:
    """The JSON object in `path`; {} when it is missing, unreadable, not JSON or not an object.

    For side files lpm reads to decide something (a run's config.json), never to report.
    """
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
