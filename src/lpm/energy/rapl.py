"""CPU package and DRAM energy from RAPL through the Linux powercap sysfs tree.

Zones ``intel-rapl:N`` (MSR interface) and ``intel-rapl-mmio:N`` (MMIO interface) can
describe the same package; a package is counted once, preferring MSR. Subzones named
``dram`` give memory energy; ``core``/``uncore`` are parts of the package and ``psys``
covers the whole platform, so those are left out to avoid double counting. Counters wrap at
``max_energy_range_uj``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lpm.energy.reading import MeterBase, Reading
from lpm.provenance import Provenance

DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")
_ZONE_RE = re.compile(r"^intel-rapl(-mmio)?:(\d+)(?::(\d+))?$")


class RaplUnavailable(RuntimeError):
    """No RAPL zones under the powercap root."""


class RaplPermissionError(PermissionError):
    """RAPL zones exist but their energy counters are not readable by this user."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"RAPL energy counters are not readable ({path}: permission denied). To measure "
            "instead of estimating, grant read access, e.g. "
            "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj "
            "/sys/class/powercap/intel-rapl:*:*/energy_uj` (until reboot) or a udev rule "
            'such as `ACTION=="add", SUBSYSTEM=="powercap", '
            'RUN+="/bin/chmod a+r /sys%p/energy_uj"` in '
            "/etc/udev/rules.d/90-powercap.rules"
        )


@dataclass(frozen=True)
class RaplZone:
    """One readable RAPL zone."""

    path: Path
    label: str  # "cpu:package-0", "dram:package-0"
    kind: str  # "cpu" or "dram"
    max_range_uj: int
    interface: str  # "msr" or "mmio"


Reader = Callable[[Path], str]


def _read_text(path: Path) -> str:
    return path.read_text()


def _read_int(path: Path, reader: Reader = _read_text) -> int:
    return int(reader(path).strip())


def find_zones(
    root: Path | str = DEFAULT_POWERCAP_ROOT, *, reader: Reader = _read_text
) -> list[RaplZone]:
    """Package and DRAM zones under ``root``, duplicates removed.

    Raises RaplUnavailable when there are none and RaplPermissionError when they exist but
    cannot be read. ``reader`` reads a sysfs file (replaceable in tests).
    """
    root = Path(root)
    if not root.is_dir():
        raise RaplUnavailable(f"no powercap tree at {root}")
    found: dict[tuple[str, str], RaplZone] = {}
    denied: Path | None = None
    for entry in sorted(root.iterdir()):
        m = _ZONE_RE.match(entry.name)
        if not m:
            continue
        interface = "mmio" if m.group(1) else "msr"
        try:
            name = reader(entry / "name").strip()
        except OSError:
            continue
        if m.group(3) is None:
            if not name.startswith("package-"):
                continue  # psys (whole platform) or unknown top-level zones
            package = name
            kind = "cpu"
        else:
            if name != "dram":
                continue  # core, uncore: already inside the package zone
            try:
                parent = root / f"intel-rapl{m.group(1) or ''}:{m.group(2)}" / "name"
                package = reader(parent).strip()
            except OSError:
                package = f"package-{m.group(2)}"
            kind = "dram"
        try:
            _read_int(entry / "energy_uj", reader)
            max_range = _read_int(entry / "max_energy_range_uj", reader)
        except PermissionError:
            denied = denied or entry / "energy_uj"
            continue
        except (OSError, ValueError):
            continue
        zone = RaplZone(entry, f"{kind}:{package}", kind, max_range, interface)
        key = (kind, package)
        if key not in found or (found[key].interface == "mmio" and interface == "msr"):
            found[key] = zone
    if not found:
        if denied is not None:
            raise RaplPermissionError(denied)
        raise RaplUnavailable(f"no readable RAPL package or dram zone under {root}")
    return sorted(found.values(), key=lambda z: (z.kind, z.label))


class RaplMeter(MeterBase):
    """Cumulative energy of RAPL zones of one kind, with wrap-around."""

    provenance = Provenance.MEASURED

    def __init__(self, zones: list[RaplZone], *, reader: Reader = _read_text) -> None:
        kinds = {z.kind for z in zones}
        if len(kinds) != 1:
            raise ValueError("a RaplMeter reads zones of exactly one kind")
        self.kind = kinds.pop()
        self.zones = list(zones)
        self.name = f"{self.kind} (RAPL: {', '.join(z.label for z in zones)})"
        self.devices = tuple(z.label for z in zones)
        self.notices: list[str] = []
        self._reader = reader
        self._last = [_read_int(z.path / "energy_uj", reader) for z in zones]
        self._acc_uj = [0] * len(zones)

    def read(self) -> Reading:
        """Cumulative energy per zone in J since creation."""
        for i, z in enumerate(self.zones):
            cur = _read_int(z.path / "energy_uj", self._reader)
            prev = self._last[i]
            # a wrapped counter ran up to max_energy_range_uj and started over from 0
            delta = cur - prev if cur >= prev else (z.max_range_uj - prev) + cur
            self._acc_uj[i] += delta
            self._last[i] = cur
        return Reading(
            energy_j=tuple(a / 1e6 for a in self._acc_uj),
            devices=self.devices,
            provenance=(Provenance.MEASURED,) * len(self.zones),
        )

    def describe(self) -> dict:
        """What this meter is, for run records and ``lpm hardware``."""
        return {
            **super().describe(),
            "method": "rapl",
            "devices": [
                {"label": z.label, "path": str(z.path), "interface": z.interface}
                for z in self.zones
            ],
        }


def rapl_meters(
    root: Path | str = DEFAULT_POWERCAP_ROOT, *, reader: Reader = _read_text
) -> list[RaplMeter]:
    """One meter for CPU packages and one for DRAM (when present)."""
    zones = find_zones(root, reader=reader)
    meters = []
    for kind in ("cpu", "dram"):
        of_kind = [z for z in zones if z.kind == kind]
        if of_kind:
            meters.append(RaplMeter(of_kind, reader=reader))
    return meters
