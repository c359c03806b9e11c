"""The stored records keep up with the runtime values they store (no drifting copies).

lpm.results must not import lpm.energy (it reads records without torch), so its record
models repeat the fields of StepStats and Prediction; these tests fail when one side
gains or loses a field without the other.
"""

from __future__ import annotations

import dataclasses

from lpm.energy.predict import Prediction
from lpm.energy.results import StepStats
from lpm.results import PredictionRecord, StepStatsRecord

# Prediction fields the study record leaves out on purpose (what the prediction rests on,
# kept in the run's own summary).
NOT_STORED = {"measured_steps", "power_w_mean", "power_w_std"}


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_step_stats_record_has_every_field_of_step_stats() -> None:
    assert _fields(StepStats) == set(StepStatsRecord.model_fields)


def test_prediction_record_has_every_stored_field_of_prediction() -> None:
    assert _fields(Prediction) - NOT_STORED == set(PredictionRecord.model_fields)
