"""quality.html: a small self-contained page (inline CSS, base64 PNGs, no scripts or external
resources): metrics table, samples next to real images, closest train/sample pairs."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from lpm.datasets import DEFAULT_HU_WINDOW, preview_image
from lpm.io import atomic_write_text
from lpm.quality.report import QualityReport

HTML_FILE = "quality.html"
MONTAGE = 8
_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
    "th:first-child,td:first-child{text-align:left}img{image-rendering:pixelated;max-width:100%}"
    "figure{display:inline-block;margin:.5em}figcaption{font-size:.85em}.note{color:#666}"
)


def _png(pixels: np.ndarray) -> str:
    from matplotlib import image as mpl_image

    buf = io.BytesIO()
    mpl_image.imsave(buf, pixels, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def montage_strip(images: np.ndarray, hu_window: tuple[float, ...]) -> np.ndarray:
    """Display previews of `images` side by side, 2 white pixels apart, values in [0, 1]."""
    panels = [preview_image(im, hu_window) for im in images]
    gap = np.ones((panels[0].shape[0], 2))
    return np.concatenate([p for panel in panels for p in (panel, gap)][:-1], axis=1)


def _row(images: np.ndarray, hu_window: tuple[float, float], scale: int = 3) -> str:
    """One montage row of previews, upscaled by `scale` (nearest neighbour)."""
    strip = np.kron(montage_strip(images, hu_window), np.ones((scale, scale)))
    return f'<img alt="montage" src="data:image/png;base64,{_png(strip)}">'


def _fmt(x: float | None) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.4g}"


def _metrics_table(report: QualityReport) -> str:
    rows = []
    for name, m in report.metrics.items():
        n = ", ".join(f"{k} {v}" for k, v in m.n.items())
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{_fmt(m.value)}</td>"
            f"<td>{_fmt(m.ci[0])} – {_fmt(m.ci[1])}</td><td>{_fmt(m.floor)}</td>"
            f"<td>{html.escape(m.unit)}</td><td>{html.escape(m.better)}</td><td>{n}</td>"
            f"<td>{html.escape(m.description)}</td></tr>"
        )
    head = "<tr><th>metric</th><th>value</th><th>95 % CI</th><th>floor</th><th>unit</th>"
    head += "<th>better</th><th>n</th><th>meaning</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def render(
    report: QualityReport,
    samples: np.ndarray,
    real: np.ndarray,
    train: np.ndarray | None = None,
    names: list[str] | None = None,
) -> str:
    """The page as a string."""
    window = tuple(report.hu_window) if report.hu_window else DEFAULT_HU_WINDOW
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>lpm quality</title>",
        f"<style>{_CSS}</style></head><body><h1>Quality of generated CT</h1>",
        f"<p>samples: {html.escape(report.samples.source)} (n={report.samples.n}); real: "
        f"{html.escape(report.real.source)} (n={report.real.n})"
        + (
            f"; train: {html.escape(report.train.source)} (n={report.train.n})"
            if report.train
            else ""
        )
        + f"; features: {html.escape(report.features or 'none')}.</p>",
        _metrics_table(report),
        "<p class='note'>floor: the same metric between two disjoint halves of the real images "
        "(for ms_ssim: real pairs). CIs: percentile bootstrap, "
        f"{report.bootstrap} resamples, seed {report.seed}.</p>",
        "<h2>Samples (top) and real images (bottom)</h2>",
        _row(samples[:MONTAGE], window),
        "<br>",
        _row(real[:MONTAGE], window),
    ]
    if report.energy is not None and report.energy.it_energy_kwh_per_useful_sample is not None:
        e = report.energy
        parts.append(
            f"<h2>Energy per useful sample</h2><p>{_fmt(e.it_energy_kwh_per_useful_sample)} kWh IT"
            f" energy and {_fmt(e.co2e_kg_per_useful_sample)} kg CO2e per sample that is not a "
            f"copy ({_fmt(e.useful_samples)} of {e.samples} samples).</p>"
        )
    if report.memorisation is not None and train is not None:
        memo = report.memorisation
        labels = names or [f"sample {i}" for i in range(len(samples))]
        index = {n: i for i, n in enumerate(labels)}
        parts.append(
            f"<h2>Closest pairs (training | sample)</h2><p>{memo.copies} of {memo.n_generated} "
            f"samples above the copy threshold {memo.threshold:.4f} ({memo.similarity}; "
            f"{html.escape(memo.threshold_rule)}).</p>"
        )
        for pair in memo.closest:
            if pair.sample not in index:
                continue
            duo = np.stack([train[pair.train_index], samples[index[pair.sample]]])
            parts.append(
                f"<figure>{_row(duo, window)}<figcaption>{html.escape(pair.sample)} vs train "
                f"#{pair.train_index}: {pair.similarity:.4f}</figcaption></figure>"
            )
    if report.notes:
        parts.append(
            "<p class='note'>" + "<br>".join(html.escape(n) for n in report.notes) + "</p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(
    report: QualityReport,
    out_dir: str | Path,
    samples: np.ndarray,
    real: np.ndarray,
    train: np.ndarray | None = None,
    names: list[str] | None = None,
) -> Path:
    """Write quality.html into out_dir; returns its path."""
    path = Path(out_dir) / HTML_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, render(report, samples, real, train, names))
