"""The study spec: what to sweep, how long to measure, what to predict.

A spec is YAML validated by pydantic. Unknown fields are errors (a typo in a dimension's
name must not silently drop that dimension), and every validation error is turned into an
``LpmError`` whose one line names the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION
from lpm.errors import LpmError
from lpm.io import load_yaml
from lpm.sizes import Size, parse_size
from lpm.study.slurm_spec import SlurmSettings

DimsKey = Literal["2d", "3d"]
ModelName = Literal["small", "medium", "large"]

DIMS_KEYS: dict[int, DimsKey] = {2: "2d", 3: "3d"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Base(_Strict):
    """The base scenario of a one-factor-at-a-time design (None: the first of each list)."""

    image_size: dict[DimsKey, Any] = Field(default_factory=dict)
    model: ModelName | None = None
    processes: int | None = None
    steps: int | None = None


class Measure(_Strict):
    """How long each scenario runs to be measured."""

    train_iterations: int = Field(6000, ge=1, description="measured training iterations")
    warmup_iterations: int = Field(0, ge=0, description="iterations run first, not measured")
    samples: int = Field(50, ge=1, description="samples generated while measuring")
    sample_steps: int | None = Field(
        None,
        ge=1,
        description=(
            "override: denoising steps per measured sample of runs that have only one step "
            "count, predicted to their steps and marked in the record (None: every step "
            "count measured at itself; runs that compare step counts always are)"
        ),
    )
    warmup_samples: int = Field(0, ge=0, description="samples generated first, not measured")
    interval_s: float = Field(1.0, gt=0, description="energy sampling interval")
    autoencoder_iterations: int = Field(
        100, ge=1, description="iterations of the autoencoder trained before each run"
    )
    checkpoint_every: int = Field(
        500,
        ge=1,
        description="training iterations between checkpoints; a killed job resumes from its last",
    )


class Targets(_Strict):
    """What the measurements are extrapolated to (the paper: 150 000 / 10 000 / 1000)."""

    train_iterations: int = Field(150_000, ge=1)
    samples: int = Field(10_000, ge=1)
    steps: int = Field(1000, ge=1, description="denoising steps of the main synthesis figures")


class Months(_Strict):
    """The months whose carbon intensity the report compares (the paper: DE 2022)."""

    region: str = "DE"
    year: int = 2022


class ModelSetting(_Strict):
    """A model a stage trains: its size, UNet and training budget. Its training data are
    the spec's `data` (phantoms: held-out phantoms are drawn with other seeds)."""

    dims: Literal[2, 3] = 2
    size: Any = 32
    model: ModelName = "small"
    autoencoder_iterations: int = Field(600, ge=1, description="iterations of its autoencoder")
    train_iterations: int = Field(1500, ge=1, description="iterations of its diffusion UNet")
    batch_size: int = Field(16, ge=1, description="images per iteration of the UNet")
    lr: float = Field(3e-4, gt=0, description="learning rate of the UNet")
    n_items: int | None = Field(
        None, ge=4, description="training images (None: all; 64 phantoms), as many held out"
    )

    @field_validator("size")
    @classmethod
    def _size(cls, value: Any, info: ValidationInfo) -> Any:
        try:
            parse_size(value, info.data.get("dims", 2))
        except LpmError as exc:
            raise ValueError(str(exc)) from None
        return value

    def size_tuple(self) -> Size:
        """The model's image size, parsed."""
        return parse_size(self.size, self.dims)


class QualityStage(ModelSetting):
    """One model trained long enough to have quality, sampled and scored (lpm.quality):
    the study's "what the samples are worth"."""

    samples: int = Field(64, ge=4, description="samples generated and scored")
    steps: int = Field(50, ge=1, description="denoising steps per sample")
    sampler: str = "ddim"
    bootstrap: int = Field(200, ge=10, description="bootstrap resamples of the CIs")
    threads: int | None = Field(
        None, ge=1, description="CPU threads of the stage (None: the spec's threads)"
    )


class Reference(_Strict):
    """The recipe the sweep's quality is judged against (the paper's: DDPM, 1000, batch 1)."""

    sampler: str = "ddpm"
    steps: int = Field(1000, ge=1)
    batch: int = Field(1, ge=1)


class TradeoffStage(_Strict):
    """The energy-quality sweep of synthesis recipes (lpm.study.tradeoff): sampler × steps ×
    batch for the model of objective ddpm and a twin per further objective (same
    autoencoder, data and settings). `setting` None: the quality stage's model and
    autoencoder; else the stage trains that model itself."""

    setting: ModelSetting | None = None
    objectives: list[Literal["ddpm", "rflow"]] = Field(default_factory=lambda: ["ddpm"])
    samplers: list[str] | None = Field(None, description="None: all that fit each objective")
    steps: list[int] = Field(default_factory=lambda: [1000, 500, 200, 100, 50, 20, 10])
    batches: list[int] = Field(default_factory=lambda: [1, 4, 16])
    quality_samples: int = Field(64, ge=4, description="samples scored per (sampler, steps)")
    energy_steps: int = Field(20, ge=1, description="steps of the short energy runs")
    energy_batches: int = Field(2, ge=1, description="measured batches per (sampler, batch)")
    tolerance: float = Field(0.05, gt=0, lt=1, description="allowed relative quality loss")
    reference: Reference = Field(default_factory=Reference)
    bootstrap: int = Field(200, ge=10, description="bootstrap resamples of the quality CIs")
    threads: int | None = Field(
        None, ge=1, description="CPU threads of the stage (None: the spec's threads)"
    )

    @field_validator("objectives", "samplers", "steps", "batches")
    @classmethod
    def _listed(cls, value: list[Any] | None) -> list[Any] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("the list is empty, so the sweep would be empty")
        if len(set(value)) != len(value):
            raise ValueError(f"lists a value twice: {value}")
        if any(isinstance(v, int) and v < 1 for v in value):
            raise ValueError(f"must be at least 1, got {min(value)}")
        return value


class StudySpec(_Strict):
    """A footprint study: the grid of scenarios, the measurement budget and the targets."""

    name: str = "study"
    design: Literal["one_factor", "full"] = "one_factor"
    dims: list[Literal[2, 3]] = Field(default_factory=lambda: [2, 3])
    image_sizes: dict[DimsKey, list[Any]] = Field(default_factory=dict)
    model_sizes: list[ModelName] = Field(default_factory=lambda: ["small", "medium", "large"])
    model_size_image: dict[DimsKey, Any] = Field(
        default_factory=dict,
        description="image size at which model sizes are compared (None: the base size)",
    )
    processes: list[int] = Field(default_factory=lambda: [1])
    sampler: str = "ddim"
    steps: list[int] = Field(default_factory=lambda: [1000])
    base: Base = Field(default_factory=Base)
    regions: list[str] = Field(default_factory=lambda: [DEFAULT_REGION])
    intensity_source: str | None = None
    region: str = DEFAULT_REGION
    months: Months | None = None
    measure: Measure = Field(default_factory=Measure)
    targets: Targets = Field(default_factory=Targets)
    pue: float = Field(DEFAULT_PUE, ge=1.0)
    data: str = "phantom"
    batch_size: int = Field(1, ge=1)
    global_batch: Literal["same_global", "same_per_gpu"] = "same_per_gpu"
    seed: int = 0
    threads: int | None = Field(
        None, ge=1, description="CPU threads of each run (None: torch's default, all cores)"
    )
    quality: QualityStage | None = Field(
        None, description="the quality stage (None: the study trains no model for quality)"
    )
    tradeoff: TradeoffStage | None = Field(
        None, description="the energy-quality sweep (None: none); see docs/study.md"
    )
    slurm: SlurmSettings = Field(
        default_factory=SlurmSettings, description="Slurm jobs' settings; see docs/slurm.md"
    )

    @field_validator("dims", "model_sizes", "processes", "steps", "regions")
    @classmethod
    def _not_empty(cls, value: list[Any]) -> list[Any]:
        if not value:
            raise ValueError("the list is empty, so the study grid would be empty")
        if len(set(value)) != len(value):
            raise ValueError(f"lists a value twice: {value}")
        return value

    @field_validator("processes", "steps")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        bad = [v for v in value if v < 1]
        if bad:
            raise ValueError(f"must be at least 1, got {bad[0]}")
        return value

    @field_validator("sampler")
    @classmethod
    def _sampler(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name a sampler, e.g. ddim or ddpm")
        return value.strip()

    @model_validator(mode="after")
    def _grid(self) -> StudySpec:
        for dims in self.dims:
            key = DIMS_KEYS[dims]
            sizes = self.image_sizes.get(key)
            if not sizes:
                raise ValueError(
                    f"image_sizes.{key}: no image size for the {dims}D models, so the "
                    "study grid would be empty"
                )
            parsed = _parse_all(sizes, dims, f"image_sizes.{key}")
            if len(set(parsed)) != len(parsed):
                raise ValueError(f"image_sizes.{key}: lists a size twice")
            for field, value in (
                ("base.image_size", self.base.image_size.get(key)),
                ("model_size_image", self.model_size_image.get(key)),
            ):
                if value is not None:
                    _parse_all([value], dims, f"{field}.{key}")
        if self.design == "one_factor":
            self._check_base()
        if self.tradeoff is not None and self.tradeoff.setting is None and self.quality is None:
            raise ValueError(
                "tradeoff: the stage sweeps the quality stage's model, but quality is null; "
                "add a quality section or give tradeoff.setting"
            )
        return self

    def _check_base(self) -> None:
        checks = (
            ("model", self.base.model, self.model_sizes),
            ("processes", self.base.processes, self.processes),
            ("steps", self.base.steps, self.steps),
        )
        for name, value, options in checks:
            if value is not None and value not in options:
                raise ValueError(f"base.{name} {value!r} is not one of {name} {options}")

    # -- derived views ---------------------------------------------------------------

    def sizes_for(self, dims: int) -> list[Size]:
        """The image sizes of the `dims`-D models, parsed."""
        return [parse_size(v, dims) for v in self.image_sizes[DIMS_KEYS[dims]]]

    def base_size(self, dims: int) -> Size:
        """The base image size of the `dims`-D models."""
        value = self.base.image_size.get(DIMS_KEYS[dims])
        return parse_size(value, dims) if value is not None else self.sizes_for(dims)[0]

    def model_size_at(self, dims: int) -> Size:
        """The image size at which small/medium/large are compared."""
        value = self.model_size_image.get(DIMS_KEYS[dims])
        return parse_size(value, dims) if value is not None else self.base_size(dims)

    def base_model(self) -> str:
        return self.base.model or self.model_sizes[0]

    def base_processes(self) -> int:
        return self.base.processes or self.processes[0]

    def base_steps(self) -> int:
        """base.steps, else targets.steps when listed in steps, else the first of steps."""
        if self.base.steps is not None:
            return self.base.steps
        return self.targets.steps if self.targets.steps in self.steps else self.steps[0]

    def to_yaml(self) -> str:
        """The spec as YAML, readable by `load_spec` (this is DIR/spec.yaml)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


class StudyRun(_Strict):
    """How ``lpm study`` runs a spec, not what it measures: where, how many at once, the report.

    Each field is a flag of ``lpm study`` (``lpm.cli.options``); the ``slurm_*`` fields
    override the spec's ``slurm:`` block (``lpm.study.slurm.slurm_options``).
    """

    executor: Literal["local", "slurm"] = Field(
        "local", description="Where scenarios run: local or slurm."
    )
    workers: int = Field(1, ge=1, description="Scenarios run at once (local executor).")
    slurm_partition: str | None = Field(None, description="Slurm partition.")
    slurm_account: str | None = Field(None, description="Slurm account charged for the jobs.")
    slurm_timeout_min: int = Field(24 * 60, ge=1, description="Time limit of each Slurm job.")
    slurm_time: str | None = Field(None, description="Time limit: MM, HH:MM:SS, D-HH:MM:SS.")
    slurm_gpus_per_task: int | None = Field(None, ge=0, description="GPUs per process.")
    slurm_option: str | None = Field(
        None, description="More sbatch options, KEY=VALUE separated by spaces: 'qos=high mem=4G'."
    )
    report: bool = Field(True, description="Build DIR/report.html at the end.")
    quality: bool = Field(
        True, description="Run the spec's quality stage (one model trained to have quality)."
    )
    tradeoff: bool = Field(
        True, description="Run the spec's tradeoff stage (the energy-quality sweep)."
    )

    def slurm_parameters(self) -> dict[str, Any]:
        """submitit's parameters of each Slurm job: the time limit, partition and account."""
        params: dict[str, Any] = {"timeout_min": self.slurm_timeout_min}
        params |= {n: v for n in ("slurm_partition", "slurm_account") if (v := getattr(self, n))}
        return params


def _parse_all(values: list[Any], dims: int, where: str) -> list[Size]:
    out = []
    for value in values:
        try:
            out.append(parse_size(value, dims))
        except LpmError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return out


def _what_is_wrong(err: Any, loc: str) -> str:
    """The message of one pydantic error, with the value given where it helps."""
    msg = err["msg"].removeprefix("Value error, ")
    if "input" in err and err["type"] not in ("value_error", "missing") and loc:
        msg += f" (got {err['input']!r})"
    return msg


def _format_error(exc: ValidationError, source: str) -> str:
    """One line naming the first field that is wrong."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        known = ", ".join(StudySpec.model_fields) if len(err["loc"]) == 1 else ""
        hint = f" (known fields: {known})" if known else ""
        return f"{source}: unknown field '{loc}'{hint}; remove or rename it"
    where = f"{loc}: " if loc else ""
    return f"{source}: {where}{_what_is_wrong(err, loc)}; fix the spec and run again"


def run_from_flags(flags: dict[str, Any]) -> StudyRun:
    """The run settings of the flags given to ``lpm study`` (the others: their defaults).

    A bad value is one LpmError line naming its flag.
    """
    try:
        return StudyRun.model_validate(flags)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        flag = "--" + loc.replace("_", "-")
        raise LpmError(f"{flag}: {_what_is_wrong(err, loc)}; fix the flag and run again") from None


def spec_from_dict(data: Any, *, source: str = "spec") -> StudySpec:
    """Validate a mapping into a StudySpec; errors become one-line LpmErrors."""
    if not isinstance(data, dict):
        raise LpmError(f"{source}: a study spec must be a YAML mapping of fields, not {data!r}")
    try:
        return StudySpec.model_validate(data)
    except ValidationError as exc:
        raise LpmError(_format_error(exc, source)) from None


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a study spec from a YAML file."""
    path = Path(path)
    data = load_yaml(path, what="study spec", missing="give a YAML file or --preset")
    return spec_from_dict(data, source=str(path))
