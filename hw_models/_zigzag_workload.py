"""One costed layer at one precision as a ZigZag workload layer, and the precision rules.

Operands: weights W and input activations I at the layer's integer-equivalent widths. Partial
sums O at w + a bits (the product width; ZigZag's shipped workloads keep 8 x 8 products in
16-bit partial sums, and the accelerators' output registers are sized for it), final outputs
O_final at the layer's activation width (the output is re-quantized at the array's edge to
the activation format of the network, taken as the layer's own).

Digital arrays: ZigZag charges one `unit_energy` per MAC whatever the workload's precisions;
`mac_energy_scale` applies the stated rule to it. In-memory-compute arrays: ZigZag's IMC model
is instantiated at the layer's widths (`imc_precision`), so its MAC energy and bit-serial
cycles are its own. Memory traffic follows the operand widths on both.
"""

from __future__ import annotations

from typing import Any

from hw_models._layers import LayerSpec

REFERENCE_BITS = 8  # ZigZag's shipped workloads run 8-bit weights and activations
SEARCHED_PRECISIONS = ((8, 8), (2, 2))  # (w, a) given LOMA's full search per layer shape


def mac_energy_scale(w_bits: int, a_bits: int) -> float:
    """MAC energy at (w, a) relative to 8 x 8: (w a) / 64.

    A w x a array multiplier has about w a full-adder cells, so its switching energy grows
    with the product of the widths (Horowitz, ISSCC 2014: 0.2 pJ at 8 bits, 3.1 pJ at 32 bits,
    a ratio of 15.5 against (32/8)^2 = 16); BitFusion (Sharma et al., ISCA 2018) builds a
    w x a multiply from (w/2)(a/2) 2-bit bricks, the same product rule on silicon.
    """
    return (w_bits * a_bits) / (REFERENCE_BITS * REFERENCE_BITS)


def imc_precision(array: dict[str, Any], w_bits: int, a_bits: int) -> tuple[int, int]:
    """(activation, weight) widths an IMC array is instantiated at for a w x a layer.

    ZigZag's IMC validator accepts powers of two only, activations no narrower than the
    bit-serial width and weights that divide the cell group: each width is rounded up to the
    next power of two (a 3-bit layer is charged as 4-bit), activations to at least the
    bit-serial width. Weights wider than a cell group are refused by the caller.
    """
    activation = max(_next_power_of_two(a_bits), int(array.get("bit_serial_precision", 1)))
    weight = _next_power_of_two(w_bits)
    return activation, weight


def _next_power_of_two(bits: int) -> int:
    return 1 << max(0, bits - 1).bit_length()


def shape_key(spec: LayerSpec) -> str:
    """The loop-nest facts ZigZag sees, as a stable string (cache key part)."""
    kernel = "x".join(map(str, spec.kernel))
    stride = "x".join(map(str, spec.stride))
    out = "x".join(map(str, spec.out_size)) or "1"
    return (f"{spec.kind}:n{spec.batch}:c{spec.in_channels}:k{spec.out_channels}:"
            f"g{spec.groups}:f{kernel}:s{stride}:o{out}")


def workload_layer(spec: LayerSpec, w_bits: int, a_bits: int) -> list[dict[str, Any]]:
    """A one-layer ZigZag workload (the list its workload parser validates)."""
    precision = {"W": w_bits, "I": a_bits, "O": w_bits + a_bits, "O_final": a_bits}
    out_h, out_w = (tuple(spec.out_size) + (1, 1))[:2]
    fy, fx = (tuple(spec.kernel) + (1, 1))[:2]
    sy, sx = (tuple(spec.stride) + (1, 1))[:2]
    relations = [f"ix={sx}*ox+1*fx", f"iy={sy}*oy+1*fy"]
    if spec.kind == "depthwise":
        layer = {
            "equation": "O[b][g][oy][ox]+=W[g][fy][fx]*I[b][g][iy][ix]",
            "loop_dims": ["B", "G", "OY", "OX", "FY", "FX"],
            "loop_sizes": [spec.batch, spec.out_channels, out_h, out_w, fy, fx],
        }
    else:  # conv and linear (a linear layer is a 1 x 1 convolution on a 1 x 1 map)
        layer = {
            "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
            "loop_dims": ["B", "K", "C", "OY", "OX", "FY", "FX"],
            "loop_sizes": [spec.batch, spec.out_channels, spec.in_channels // spec.groups,
                           out_h, out_w, fy, fx],
        }
    return [{
        "id": 0, "name": spec.name, "operator_type": "Conv", **layer,
        "dimension_relations": relations, "operand_precision": precision,
        "operand_source": {"I": 0, "W": 0},  # W from the layer itself: a constant
    }]
