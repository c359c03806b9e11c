"""The figure of a plan: the region's intensity by month × hour with the chosen window, and
the candidate regions' CO2e for the same job."""

from __future__ import annotations

import io
from datetime import tzinfo
from pathlib import Path

from lpm.carbon import IntensityDatabase
from lpm.errors import LpmError
from lpm.io import atomic_write_bytes
from lpm.plan import Plan, from_epoch
from lpm.plan.profiles import table_series
from lpm.plan.series import to_epoch

BARS = 15


def _year_grid(region: str, year: int, db: IntensityDatabase, basis: str) -> list[list[float]]:
    """12 × 24 mean g/kWh (UTC hours) of a year from the packaged tables."""
    from datetime import UTC, datetime

    grid = []
    for month in range(1, 13):
        a = to_epoch(datetime(year, month, 1, tzinfo=UTC))
        series = table_series(region, a, a + 24 * 3600, db=db, basis=basis)
        grid.append([series.mean(a + h * 3600, a + (h + 1) * 3600) for h in range(24)])
    return grid


def write_plan_figure(
    plan: Plan, path: str | Path, *, db: IntensityDatabase | None = None, tz: tzinfo | None = None
) -> Path:
    """Write the plan's PNG to `path` (atomically); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.exists() and path.is_dir():
        raise LpmError(f"{path} is a folder; give a file name for the figure, e.g. plan.png.")
    db = db or IntensityDatabase.default()
    # the heat map shows the home region, where timing is the lever; the bars show regions
    best = next((o for o in plan.options if o.region == plan.baseline.region), plan.best)
    start = from_epoch(best.placement.start)
    several = len(plan.options) > 1
    fig, axes = plt.subplots(1, 2 if several else 1, figsize=(11 if several else 6.5, 4.2))
    ax = axes[0] if several else axes
    grid = _year_grid(best.region, start.year, db, best.basis)
    image = ax.imshow(grid, aspect="auto", cmap="viridis_r", origin="upper")
    ax.set_yticks(range(12), ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"])
    ax.set_xticks(range(0, 24, 3))
    ax.set_xlabel("hour of day (UTC)")
    ax.set_title(f"{best.region}: g CO2e/kWh by month and hour (tables, {best.basis})", fontsize=9)
    fig.colorbar(image, ax=ax, label="g CO2e/kWh")
    for a, b in best.placement.slots:
        t = a
        while t < b:
            when = from_epoch(t)
            ax.add_patch(
                plt.Rectangle(
                    (when.hour - 0.5, when.month - 1.5), 1, 1, fill=False, ec="red", lw=1.2
                )
            )
            t += 3600
    local = start.astimezone(tz) if tz else start
    ax.text(
        0.01,
        -0.22,
        f"best start in {best.region}: {local:%Y-%m-%d %H:%M %Z}, "
        f"{len(best.placement.slots)} part(s) (red)",
        transform=ax.transAxes,
        fontsize=8,
    )
    if several:
        bars = axes[1]
        shown = list(plan.options[:BARS])
        bars.barh(
            [o.region for o in shown][::-1],
            [o.co2e_kg for o in shown][::-1],
            xerr=[o.co2e_kg_std for o in shown][::-1],
            color="#4c72b0",
        )
        bars.axvline(plan.baseline.co2e_kg, color="grey", ls="--", lw=1)
        bars.set_xlabel("kg CO2e of the job (best time in each region)")
        bars.set_title(
            f"lowest {len(shown)} of {len(plan.options)} regions; dashed: now, "
            f"{plan.baseline.region}",
            fontsize=9,
        )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return path
