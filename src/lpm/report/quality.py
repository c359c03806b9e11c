"""The report's section "What the samples are worth": the study's quality record (one model
trained to have quality, lpm.study's quality stage): metrics with CI and floor, samples next
to real images, the closest train/sample pairs, the copy rate, energy per useful sample."""

from __future__ import annotations

import base64
from pathlib import Path

from lpm.report.html import esc, num, prov_mark, table
from lpm.results import QUALITY_DIR, QualityRecord
from lpm.units import J_PER_KWH

NO_RECORD = (
    "<p>This study has no quality record: it trained no model for quality (the spec's "
    "<code>quality</code> is unset, or the stage has not finished yet).</p>"
)


def _img(path: Path, alt: str) -> str:
    if not path.is_file():
        return f"<p class='small'>{esc(path.name)} is missing from {esc(path.parent)}.</p>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'


def _ci(low: float, high: float) -> str:
    if low != low or high != high:  # NaN: too few distinct resamples
        return "–"
    return f"{num(low)} – {num(high)}"


def _metrics(rec: QualityRecord) -> str:
    rows = []
    for name, m in rec.metrics.items():
        unit = f" {esc(m.unit)}" if m.unit else ""
        rows.append(
            [
                esc(name),
                f"{num(m.value)}{unit}",
                _ci(m.ci_low, m.ci_high),
                "–" if m.floor is None else f"{num(m.floor)}{unit}",
                esc(", ".join(f"{k} {v}" for k, v in m.n.items())),
                esc(m.better.replace("_", " ")),
                esc(m.description),
            ]
        )
    headers = ["metric", "value", "95 % CI", "floor (real vs real)", "n", "better", "meaning"]
    return table(headers, rows, {1, 2, 3})


def _setting(rec: QualityRecord) -> str:
    s = rec.setting
    size = "x".join(map(str, s.size))
    return (
        f"<p>One {s.dims}D {esc(s.model)} model at {esc(size)}, trained long enough to have "
        f"quality: its autoencoder {s.autoencoder_iterations:,} iterations (reconstruction L1 "
        f"{num(rec.recon_l1_last)}), its diffusion UNet {s.train_iterations:,} iterations of "
        f"batch {s.batch_size} at learning rate {num(s.lr)} (loss {num(rec.train_loss_first)} "
        f"→ {num(rec.train_loss_last)}); then {s.samples} samples of {s.steps} {esc(s.sampler)} "
        f"steps, scored against held-out {esc(rec.real)} and the training images "
        f"{esc(rec.train_data)}; features: {esc(rec.features or 'none')}. Floor: the same "
        "metric between two halves of the real images (for ms_ssim: real pairs).</p>"
    )


def _copies(rec: QualityRecord) -> str:
    if rec.copy_rate is None:
        return "<p>No copy check: the stage had no training images to compare with.</p>"
    return (
        f"<p><b>Copy rate {num(100 * rec.copy_rate)} %</b>: {rec.copies} of {rec.samples} "
        f"samples are closer ({esc(rec.copy_similarity)}) to a training image than any "
        f"held-out real image is (threshold {num(rec.copy_threshold)}); "
        f"{num(rec.useful_samples)} samples are useful (not copies).</p>"
    )


def _energy(rec: QualityRecord) -> str:
    mark = prov_mark(rec.provenance)

    def row(what: str, kwh: float | None, kg: float | None) -> list[str]:
        if kwh is None:
            return [what, "– (every sample is a copy)", "–"]
        grams = "–" if kg is None else f"{num(kg * 1000)}{mark}"
        return [what, f"{num(kwh * J_PER_KWH)}{mark}", grams]

    rows = [
        row("per sample", rec.it_energy_kwh_per_sample, rec.co2e_kg_per_sample),
        row(
            "per useful sample (not a copy)",
            rec.it_energy_kwh_per_useful_sample,
            rec.co2e_kg_per_useful_sample,
        ),
    ]
    return table(["sampling cost", "IT energy (J)", "CO2e (g)"], rows, {1, 2}) + (
        f"<p class='small'>Per useful sample = the sampling run's energy / (n × (1 − copy "
        f"rate)): {num(rec.sample_it_energy_kwh * J_PER_KWH)} J over {rec.samples} samples. "
        f"Training this model took {num(rec.train_it_energy_kwh * J_PER_KWH)} J IT energy "
        f"in {num(rec.train_duration_s)} s.</p>"
    )


def _figures(rec: QualityRecord, qdir: Path) -> str:
    parts = []
    if rec.montage:
        parts.append(
            f"<figure id='quality-montage'>{_img(qdir / rec.montage, 'samples and real images')}"
            "<figcaption>Samples (top row) next to held-out real images (bottom row).</figcaption>"
            "</figure>"
        )
    drawn = [p for p in rec.closest if p.figure]
    if drawn:
        parts.append("<h3>The closest train/sample pairs</h3>")
    for pair in drawn:
        parts.append(
            f"<figure class='quality-pair'>{_img(qdir / pair.figure, 'closest pair')}"
            f"<figcaption>training image #{pair.train_index} (left) and {esc(pair.sample)} "
            f"(right): similarity {num(pair.similarity, 4)}.</figcaption></figure>"
        )
    return "".join(parts)


def quality_section(study_dir: Path, rec: QualityRecord | None) -> str:
    """The section's HTML (after its heading); one line when the study has no record."""
    if rec is None:
        return NO_RECORD
    qdir = Path(study_dir) / QUALITY_DIR
    return (
        _setting(rec)
        + _metrics(rec)
        + _copies(rec)
        + _energy(rec)
        + _figures(rec, qdir)
        + f"<p class='small'>The full quality report: <a href='{esc(rec.html_file)}'>"
        f"{esc(rec.html_file)}</a> ({esc(rec.report_file)}).</p>"
    )
