"""lpm.quality: what a generated CT image is worth — fidelity (HU Wasserstein, tissue
fractions, Fréchet distance, MMD), diversity (MS-SSIM) and memorisation (copies of training
images) on HU arrays, each with sample sizes and a bootstrap CI. Knows no model: features
come in as a Features callable (see lpm.ldm.features for a run's autoencoder)."""

from lpm.quality.evaluate import evaluate
from lpm.quality.features import EncoderFeatures, Features
from lpm.quality.folder import evaluate_dir, sampling_summary
from lpm.quality.html import write_html
from lpm.quality.images import DataSpec, load_reference, load_samples
from lpm.quality.report import QualityReport, read_report, write_report
from lpm.quality.resnet import FEATURE_NETS, resnet_features
from lpm.quality.tissue import TISSUE_CLASSES, body_mask

__all__ = [
    "FEATURE_NETS",
    "TISSUE_CLASSES",
    "DataSpec",
    "EncoderFeatures",
    "Features",
    "QualityReport",
    "body_mask",
    "evaluate",
    "evaluate_dir",
    "load_reference",
    "load_samples",
    "read_report",
    "resnet_features",
    "sampling_summary",
    "write_html",
    "write_report",
]
