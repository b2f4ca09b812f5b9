"""The operation a MAC runs as, keyed by the grids its weight and activation train on.

One table, after the multiplier table of QKeras QTools (`multiplier_factory.py`): a +-1
weight times a +-1 activation is an XNOR plus popcount; anything times a {0, 1} activation an
AND; a +-1 or ternary operand against a wider one a mux (sign-select) feeding the adder; a
power-of-two weight times an integer a shift; integers an integer multiply; anything float a
float MAC. The grids are `codesign.formats.grid_kind`'s, so a label follows what trains: a
1-bit int weight is +-1, a 1-bit activation after a ReLU is {0, 1}.
"""

from __future__ import annotations

import numpy as np

from codesign.formats import GRID_KINDS
from hw_models._arrays import BitMatrix, LayerArrays
from hw_models._formats import GRID_CODE, activation_grids, weight_grids

OP_CLASSES = ("xnor_popcount_ops", "and_ops", "mux_ops", "shift_ops", "int_macs", "float_macs")
XNOR, AND, MUX, SHIFT, INT_MAC, FLOAT_MAC = OP_CLASSES

# weight grid -> {activation grid -> operation}; weights never train on {0, 1}.
OP_TABLE: dict[str, dict[str, str]] = {
    "int": {"int": INT_MAC, "sign": MUX, "zero_one": AND, "float": FLOAT_MAC},
    "pow2": {"int": SHIFT, "sign": MUX, "zero_one": AND, "float": FLOAT_MAC},
    "ternary": {"int": MUX, "sign": MUX, "zero_one": AND, "float": FLOAT_MAC},
    "sign": {"int": MUX, "sign": XNOR, "zero_one": AND, "float": FLOAT_MAC},
    "float": {"int": FLOAT_MAC, "sign": FLOAT_MAC, "zero_one": FLOAT_MAC, "float": FLOAT_MAC},
}


def _code_table() -> np.ndarray:
    table = np.full((len(GRID_KINDS), len(GRID_KINDS)), -1, dtype=np.int64)
    for w_grid, row in OP_TABLE.items():
        for a_grid, op in row.items():
            table[GRID_CODE[w_grid], GRID_CODE[a_grid]] = OP_CLASSES.index(op)
    return table


_OP_CODES = _code_table()


def op_classes(layers: LayerArrays, bits: BitMatrix) -> np.ndarray:
    """Index into `OP_CLASSES` of the operation each (config, layer) MAC runs as (C x L)."""
    w_grid = weight_grids(bits.w_fmt, bits.w_bits)
    unsigned = np.broadcast_to(layers.unsigned_input, bits.a_bits.shape)
    a_grid = activation_grids(bits.a_fmt, bits.a_bits, unsigned)
    return _OP_CODES[w_grid, a_grid]


def op_class_masks(layers: LayerArrays, bits: BitMatrix) -> dict[str, np.ndarray]:
    """Which MACs of each (config, layer) run as which operation, one mask per op class."""
    codes = op_classes(layers, bits)
    return {op: codes == i for i, op in enumerate(OP_CLASSES)}
