"""Deployable exports of a quantized network: standard ONNX (QDQ), QONNX and PyTorch.

`export_network(model, sample, fmt, dest)` writes the hard-quantized eval-mode network;
`compare` runs the file in onnxruntime (`onnx`) or qonnx's executor (`qonnx`) next to the
PyTorch network; `export_trial_formats` does both for a trial of a study. The ONNX formats
need the `deploy` extra (onnx, onnxruntime, qonnx). See docs/deploy.md.
"""

from codesign.deploy._check import MIN_AGREEMENT, Agreement, compare, run_exported, torch_logits
from codesign.deploy._export import FILE_NAMES, FORMATS, export_network, parse_formats
from codesign.deploy._graph import LayerRow
from codesign.deploy._trial import export_trial_formats, front_trials, trained_checkpoint

__all__ = [
    "FILE_NAMES",
    "FORMATS",
    "MIN_AGREEMENT",
    "Agreement",
    "LayerRow",
    "compare",
    "export_network",
    "export_trial_formats",
    "front_trials",
    "parse_formats",
    "run_exported",
    "torch_logits",
    "trained_checkpoint",
]
