"""Fake Linux powercap (RAPL) trees in a temporary folder.

Layout as the kernel writes it: ``intel-rapl:N`` package zones with ``name``,
``energy_uj`` and ``max_energy_range_uj``, subzones ``intel-rapl:N:M`` (core, uncore,
dram), the same packages again under ``intel-rapl-mmio:N``, and ``psys``. Tests run as
root here, where chmod does not stop reads, so :meth:`FakePowercap.reader` simulates
permission denied for the files marked with :meth:`deny`.
"""

from __future__ import annotations

from pathlib import Path


class FakePowercap:
    """Build and drive a powercap tree under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.denied: set[Path] = set()

    def add_zone(
        self, zone: str, name: str, energy_uj: int = 0, max_range_uj: int = 262_143_328_850
    ) -> Path:
        """Create ``root/zone`` with the three files lpm reads."""
        d = self.root / zone
        d.mkdir(parents=True, exist_ok=True)
        (d / "name").write_text(name + "\n")
        (d / "energy_uj").write_text(f"{energy_uj}\n")
        (d / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
        return d

    def set_energy(self, zone: str, energy_uj: int) -> None:
        """Set a zone's counter."""
        (self.root / zone / "energy_uj").write_text(f"{energy_uj}\n")

    def add_energy(self, zone: str, delta_uj: int) -> None:
        """Advance a zone's counter by ``delta_uj``, wrapping at its max range."""
        cur = int((self.root / zone / "energy_uj").read_text())
        top = int((self.root / zone / "max_energy_range_uj").read_text())
        self.set_energy(zone, (cur + delta_uj) % top)

    def deny(self, zone: str) -> None:
        """Make the zone's energy_uj unreadable (as for a non-root user since 2020)."""
        path = self.root / zone / "energy_uj"
        path.chmod(0o400)
        self.denied.add(path)

    def reader(self, path: Path) -> str:
        """Read a sysfs file the way lpm does, honouring :meth:`deny`."""
        if Path(path) in self.denied:
            raise PermissionError(13, "Permission denied", str(path))
        return Path(path).read_text()


def server_tree(
    root: Path, *, packages: int = 2, mmio: bool = True, dram: bool = True
) -> FakePowercap:
    """A two-socket server: packages with core and dram subzones, MMIO copies and psys."""
    pc = FakePowercap(root)
    for p in range(packages):
        pc.add_zone(f"intel-rapl:{p}", f"package-{p}", energy_uj=1_000_000 * (p + 1))
        pc.add_zone(f"intel-rapl:{p}:0", "core", energy_uj=500_000)
        if dram:
            pc.add_zone(f"intel-rapl:{p}:1", "dram", energy_uj=300_000, max_range_uj=65_712_999_613)
        if mmio:
            pc.add_zone(f"intel-rapl-mmio:{p}", f"package-{p}", energy_uj=7_000_000)
    pc.add_zone(f"intel-rapl:{packages}", "psys", energy_uj=9_000_000)
    return pc
