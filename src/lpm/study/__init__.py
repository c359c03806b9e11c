"""lpm.study: the paper's footprint study — spec, scenario grid, runner, results store.

See docs/study.md. The heavy parts (torch, lpm.ldm) are imported only when a scenario is
measured, so reading specs and results stays fast.
"""

from lpm.study.checks import check_spec
from lpm.study.executors import LocalExecutor, SerialExecutor, SlurmExecutor, make_executor
from lpm.study.grid import Job, Scenario, jobs, scenarios
from lpm.study.presets import PRESETS, preset_spec
from lpm.study.runner import StudyOutcome, run_study
from lpm.study.spec import StudySpec, load_spec, spec_from_dict
from lpm.study.store import ResultsStore

__all__ = [
    "PRESETS",
    "Job",
    "LocalExecutor",
    "ResultsStore",
    "Scenario",
    "SerialExecutor",
    "SlurmExecutor",
    "StudyOutcome",
    "StudySpec",
    "check_spec",
    "jobs",
    "load_spec",
    "make_executor",
    "preset_spec",
    "run_study",
    "scenarios",
    "spec_from_dict",
]
