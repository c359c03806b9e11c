"""lpm.results: the typed, versioned study record (schema 2) and its one parser, and the
study's quality record (DIR/quality/record.json), and the energy–quality sweep's records
(DIR/tradeoff.jsonl and DIR/tradeoff.json).

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
from lpm.results.tradeoff import (
    TRADEOFF_DIR,
    TRADEOFF_SCHEMA_VERSION,
    BreakEven,
    TradeoffPoint,
    TradeoffRun,
    TradeoffSummary,
    append_point,
    metric_best_case,
    metric_score,
    parse_point,
    point_id,
    read_tradeoff,
    tradeoff_points_path,
    tradeoff_summary_path,
    write_summary,
)

__all__ = [
    "QUALITY_DIR",
    "QUALITY_SCHEMA_VERSION",
    "RESULTS_FILENAME",
    "SCHEMA_VERSION",
    "TRADEOFF_DIR",
    "TRADEOFF_SCHEMA_VERSION",
    "BreakEven",
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
    "TradeoffPoint",
    "TradeoffRun",
    "TradeoffSummary",
    "TrainingPart",
    "append_point",
    "metric_best_case",
    "metric_score",
    "parse_point",
    "parse_record",
    "point_id",
    "quality_record_path",
    "read_quality_record",
    "read_results",
    "read_tradeoff",
    "record_to_dict",
    "record_to_json",
    "results_path",
    "tradeoff_points_path",
    "tradeoff_summary_path",
    "write_quality_record",
    "write_summary",
]
