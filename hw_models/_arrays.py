"""Layer facts and per-trial precisions as numpy arrays: the shape cost models compute on.

A `LayerArrays` holds one architecture's layers (length L); a `BitMatrix` holds the precisions
of C configurations of that architecture (C x L). Every cost model maps the pair to per-layer
metric matrices (C x L) with numpy only, so scoring ten thousand configs is one array pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from codesign.config import LayerQuant
from codesign.errors import CodesignError
from codesign.formats import BITS_CHOICES, FLOAT_BITS, is_bits_value
from hw_models._activations import ActivationGraph
from hw_models._formats import FLOAT, FORMAT_CODE, FORMATS, format_codes
from hw_models._layers import KINDS, ModelLayers


@dataclass(frozen=True)
class LayerArrays:
    """Per-layer facts of one architecture, each a float64 / int array of length L."""

    names: tuple[str, ...]
    kind: np.ndarray
    macs: np.ndarray
    params: np.ndarray
    in_elems: np.ndarray
    out_elems: np.ndarray
    fan_in: np.ndarray
    out_channels: np.ndarray
    float_params: int
    activations: ActivationGraph
    unsigned_input: np.ndarray

    @classmethod
    def from_layers(cls, model_layers: ModelLayers) -> LayerArrays:
        layers = model_layers.layers
        return cls(
            names=tuple(layer.name for layer in layers),
            kind=np.array([KINDS.index(layer.kind) for layer in layers], dtype=np.int64),
            macs=np.array([layer.macs for layer in layers], dtype=np.float64),
            params=np.array([layer.params for layer in layers], dtype=np.float64),
            in_elems=np.array([layer.in_elems for layer in layers], dtype=np.float64),
            out_elems=np.array([layer.out_elems for layer in layers], dtype=np.float64),
            fan_in=np.array([layer.fan_in for layer in layers], dtype=np.float64),
            out_channels=np.array([layer.out_channels for layer in layers], dtype=np.float64),
            float_params=model_layers.float_params,
            activations=model_layers.activations,
            unsigned_input=np.array(model_layers.activations.unsigned_input, dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class BitMatrix:
    """Weight / input-activation bits and format codes of C configs over L layers (C x L).

    Float layers carry 32 bits and the float format code. Build it with `from_configs`,
    `from_layer_quants` or `uniform`; never edit the arrays in place (they are shared).
    """

    w_bits: np.ndarray
    a_bits: np.ndarray
    w_fmt: np.ndarray
    a_fmt: np.ndarray

    def __post_init__(self) -> None:
        shapes = {a.shape for a in (self.w_bits, self.a_bits, self.w_fmt, self.a_fmt)}
        if len(shapes) != 1 or self.w_bits.ndim != 2:
            raise ValueError(f"BitMatrix arrays must share one (configs, layers) shape: {shapes}")

    @property
    def num_configs(self) -> int:
        return self.w_bits.shape[0]

    @classmethod
    def from_bits(
        cls, w_bits: np.ndarray | Sequence, a_bits: np.ndarray | Sequence
    ) -> BitMatrix:
        """Integer bits (C x L), read like `LayerQuant.of`: 1 is binary, 32 is float."""
        w = np.atleast_2d(np.asarray(w_bits, dtype=np.int64))
        a = np.atleast_2d(np.asarray(a_bits, dtype=np.int64))
        for what, bits in (("weight", w), ("activation", a)):
            bad = [int(b) for b in np.unique(bits) if not is_bits_value(int(b))]
            if bad:
                raise CodesignError(f"{what} bits {bad[0]} are impossible; use {BITS_CHOICES}")
        return cls(w, a, format_codes(w), format_codes(a))

    @classmethod
    def uniform(cls, num_layers: int, w_bits: int, a_bits: int) -> BitMatrix:
        """One config with every layer at the same bits."""
        return cls.from_bits(np.full((1, num_layers), w_bits), np.full((1, num_layers), a_bits))

    @classmethod
    def from_layer_quants(
        cls, configs: Sequence[Mapping[str, LayerQuant]], names: Sequence[str]
    ) -> BitMatrix:
        """Stack per-layer precisions of many configs; layers absent from a config stay float."""
        index = {name: i for i, name in enumerate(names)}
        shape = (len(configs), len(names))
        w_bits = np.full(shape, FLOAT_BITS, dtype=np.int64)
        a_bits = np.full(shape, FLOAT_BITS, dtype=np.int64)
        w_fmt = np.full(shape, FLOAT, dtype=np.int64)
        a_fmt = np.full(shape, FLOAT, dtype=np.int64)
        codes = FORMAT_CODE
        for row, layers in enumerate(configs):
            for name, quant in layers.items():
                col = index.get(name)
                if col is None:
                    raise CodesignError(
                        f"config names layer '{name}', which is not a costed conv / linear "
                        f"layer of the model; costed layers: {', '.join(names)}"
                    )
                w_bits[row, col] = quant.w_bits
                a_bits[row, col] = quant.a_bits
                w_fmt[row, col] = codes[quant.w_format]
                a_fmt[row, col] = codes[quant.a_format]
        return cls(w_bits, a_bits, w_fmt, a_fmt)

    def layer_quant(self, row: int, col: int) -> tuple[int, str, int, str]:
        """(w_bits, w_format, a_bits, a_format) of one entry, for tables and messages."""
        return (
            int(self.w_bits[row, col]),
            FORMATS[int(self.w_fmt[row, col])],
            int(self.a_bits[row, col]),
            FORMATS[int(self.a_fmt[row, col])],
        )

