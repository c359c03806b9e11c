"""lpm.results: the typed, versioned study record (schema 2) and its one parser, and the
study's quality record (DIR/quality/record.json).

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
from lpm.results.quality import (
    QUALITY_DIR,
    QUALITY_SCHEMA_VERSION,
    ClosestPairRecord,
    QualityMetricRecord,
    QualityRecord,
    QualitySetting,
    quality_record_path,
    read_quality_record,
    write_quality_record,
)

__all__ = [
    "QUALITY_DIR",
    "QUALITY_SCHEMA_VERSION",
    "RESULTS_FILENAME",
    "SCHEMA_VERSION",
    "ClosestPairRecord",
    "MeasuredCounts",
    "PredictionRecord",
    "QualityMetricRecord",
    "QualityRecord",
    "QualitySetting",
    "ResultsFile",
    "ScenarioRecord",
    "SkippedLine",
    "StepStatsRecord",
    "SynthesisPart",
    "TargetCounts",
    "TrainingPart",
    "parse_record",
    "quality_record_path",
    "read_quality_record",
    "read_results",
    "record_to_dict",
    "record_to_json",
    "results_path",
    "write_quality_record",
]
