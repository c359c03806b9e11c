"""lpm.results: the typed, versioned study record (schema 2) and its one parser.

Importable without torch (pydantic, the standard library and lpm.provenance only), so
the study, the report and the CLI read and write results through the same models.
"""

from lpm.results.io import (
    RESULTS_FILENAME,
    ResultsFile,
    SkippedLine,
    parse_record,
    read_results,
    record_to_dict,
    record_to_json,
    results_path,
)
from lpm.results.models import (
    SCHEMA_VERSION,
    MeasuredCounts,
    PredictionRecord,
    ScenarioRecord,
    StepStatsRecord,
    SynthesisPart,
    TargetCounts,
    TrainingPart,
)

__all__ = [
    "RESULTS_FILENAME",
    "SCHEMA_VERSION",
    "MeasuredCounts",
    "PredictionRecord",
    "ResultsFile",
    "ScenarioRecord",
    "SkippedLine",
    "StepStatsRecord",
    "SynthesisPart",
    "TargetCounts",
    "TrainingPart",
    "parse_record",
    "read_results",
    "record_to_dict",
    "record_to_json",
    "results_path",
]
