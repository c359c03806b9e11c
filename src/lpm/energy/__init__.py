"""lpm.energy: measure, record and predict the energy of a block of code.

Meters (NVML GPUs, RAPL CPU/DRAM, estimated CPU/DRAM, simulated) behind one interface, one
sampler thread, named windows and step marks, crash-safe JSON Lines run records, prediction
from K measured steps to N, torch.distributed aggregation and a CodeCarbon-compatible CSV
export. torch is optional and never imported here. See docs/energy.md.
"""

from lpm.energy.detect import Detection, HardwareItem, detect, detect_meters
from lpm.energy.estimated import EstimatedCpuMeter, EstimatedDramMeter, cpu_power_model
from lpm.energy.export import CODECARBON_COLUMNS, EXPORT_COLUMNS, export_codecarbon_csv
from lpm.energy.nvml import NvmlMeter, NvmlUnavailable
from lpm.energy.pooling import pool_step_stats
from lpm.energy.predict import Prediction, predict, predict_synthesis
from lpm.energy.rapl import RaplMeter, RaplPermissionError, RaplUnavailable, rapl_meters
from lpm.energy.reading import Meter, MeterBase, Reading
from lpm.energy.record import read_run, read_windows
from lpm.energy.results import ComponentEnergy, LiveSnapshot, RunSummary, StepStats, WindowStats
from lpm.energy.simulated import SimulatedMeter
from lpm.energy.tracker import Tracker

__all__ = [
    "CODECARBON_COLUMNS",
    "EXPORT_COLUMNS",
    "ComponentEnergy",
    "Detection",
    "EstimatedCpuMeter",
    "EstimatedDramMeter",
    "HardwareItem",
    "LiveSnapshot",
    "Meter",
    "MeterBase",
    "NvmlMeter",
    "NvmlUnavailable",
    "Prediction",
    "RaplMeter",
    "RaplPermissionError",
    "RaplUnavailable",
    "Reading",
    "RunSummary",
    "SimulatedMeter",
    "StepStats",
    "Tracker",
    "WindowStats",
    "cpu_power_model",
    "detect",
    "detect_meters",
    "export_codecarbon_csv",
    "pool_step_stats",
    "predict",
    "predict_synthesis",
    "rapl_meters",
    "read_run",
    "read_windows",
]
