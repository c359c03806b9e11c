"""A real study quality record for tests, every field given (lpm.results.QualityRecord)."""

from __future__ import annotations

from typing import Any

from lpm.provenance import Provenance
from lpm.results import ClosestPairRecord, QualityMetricRecord, QualityRecord, QualitySetting


def make_quality_record(*, samples: int = 64, copy_rate: float = 0.25, **kw: Any) -> QualityRecord:
    """64 samples of a 2D 32² model; 1e-4 kWh and 2e-5 kg CO2e for the sampling run."""
    energy_kwh, co2e_kg = 1e-4, 2e-5
    useful = samples * (1.0 - copy_rate)
    metrics = {
        "hu_wasserstein": QualityMetricRecord(
            value=41.5, ci_low=35.0, ci_high=49.0, floor=12.25,
            n={"generated": samples, "real": 64},
            better="lower", unit="HU", description="1-D Wasserstein distance of HU",
        ),
        "ms_ssim": QualityMetricRecord(
            value=0.31, ci_low=0.29, ci_high=0.33, floor=0.3, n={"generated": samples},
            better="closer_to_floor", description="mean MS-SSIM between pairs",
        ),
        "copy_rate": QualityMetricRecord(
            value=copy_rate, ci_low=0.1, ci_high=0.4, floor=None, n={"generated": samples},
            better="lower", description="share of copies",
        ),
    }  # fmt: skip
    fields: dict[str, Any] = {
        "setting": QualitySetting(
            dims=2, size=(32, 32), model="small", autoencoder_iterations=600,
            train_iterations=1500, batch_size=16, lr=3e-4, samples=samples, steps=50,
            sampler="ddim",
        ),
        "recon_l1_last": 0.05, "train_loss_first": 0.8, "train_loss_last": 0.1,
        "train_duration_s": 120.0, "train_it_energy_kwh": 2e-3,
        "sample_duration_s": 20.0, "sample_it_energy_kwh": energy_kwh, "sample_co2e_kg": co2e_kg,
        "samples": samples, "real": "phantom (n=64, seed=1000000)", "n_real": 64,
        "train_data": "phantom (n=64, seed=0)", "n_train": 64,
        "features": "autoencoder encoder of run", "metrics": metrics,
        "copy_rate": copy_rate, "copies": round(samples * copy_rate), "copy_threshold": 0.93,
        "copy_similarity": "ncc", "useful_samples": useful,
        "it_energy_kwh_per_sample": energy_kwh / samples,
        "co2e_kg_per_sample": co2e_kg / samples,
        "it_energy_kwh_per_useful_sample": energy_kwh / useful if useful else None,
        "co2e_kg_per_useful_sample": co2e_kg / useful if useful else None,
        "montage": None, "closest": [
            ClosestPairRecord(sample="sample_00003.nii.gz", train_index=7, similarity=0.97)
        ],
        "report_file": "quality/quality.json", "html_file": "quality/quality.html",
        "duration_s": 150.0, "finished_at": "2026-12-01T12:00:00Z",
        "provenance": Provenance.ESTIMATED,
    }  # fmt: skip
    fields.update(kw)
    return QualityRecord(**fields)
