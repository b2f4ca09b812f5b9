"""Peak activation memory counts every tensor alive at once, against hand counts."""

import torch
from torch import nn

from codesign.config import LayerQuant
from hw_models import BitMatrix, extract_layers, get_cost_model


class ResidualNet(nn.Module):
    """stem conv -> ReLU -> [conv1 -> ReLU -> conv2] + skip -> ReLU -> linear, on 4x4 maps."""

    def __init__(self, pre_activation: bool = False, inplace: bool = False) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(64, 3)
        self.pre_activation = pre_activation
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if self.pre_activation:  # the block reads relu(x) while the skip keeps x itself
            y = self.conv2(torch.relu(self.conv1(torch.relu(x))))
        else:
            x = torch.relu(x)
            y = self.conv2(torch.relu(self.conv1(x)))
        if self.inplace:  # as torchvision's ResNet writes it
            y += x
            return self.fc(torch.flatten(torch.relu_(y), 1))
        return self.fc(torch.flatten(torch.relu(y + x), 1))


# activation bits read by stem, conv1, conv2, fc
A_BITS = {"stem": 8, "conv1": 4, "conv2": 2, "fc": 6}


def peak(model: nn.Module, shape=(1, 2, 4, 4)):
    layers = extract_layers(model, shape)
    quants = {name: LayerQuant(8, bits) for name, bits in A_BITS.items()}
    bits = BitMatrix.from_layer_quants([quants], layers.names)
    generic = get_cost_model("generic")
    per_layer = generic.layer_metrics(layers.arrays, bits)["peak_activation_bits"][0]
    total = generic.totals(layers.arrays, bits)["peak_activation_bits"][0]
    return dict(zip(layers.names, per_layer, strict=True)), total


def test_residual_block_peak_equals_a_hand_count():
    per_layer, total = peak(ResidualNet())
    # Tensors: input 32 elements read by stem at 8 bits; x (stem out, 64) read by conv1 at 4
    # and, through the add, by fc at 6, so stored at 6; h (conv1 out) read by conv2 at 2;
    # y (conv2 out) read through the add by fc at 6; s = y + x read by fc at 6; logits 3 x 32.
    x, h, y, s = 64 * 6, 64 * 2, 64 * 6, 64 * 6
    assert per_layer["stem"] == 32 * 8 + x
    assert per_layer["conv1"] == x + h  # x stays alive for the skip
    # conv2 runs with x, h and y alive; its add then holds x, y and s
    assert per_layer["conv2"] == max(x + h + y, x + y + s) == 1152
    assert per_layer["fc"] == s + 3 * 32
    assert total == 1152
    # one layer's input plus output at a time (the former rule) gives 64 * 2 + 64 * 6 = 512
    assert total > 2 * (64 * 2 + 64 * 6)


def test_in_place_add_and_relu_count_like_their_out_of_place_forms():
    assert peak(ResidualNet(inplace=True)) == peak(ResidualNet())


def test_an_op_on_a_tensor_read_again_later_writes_a_new_tensor():
    per_layer, _ = peak(ResidualNet(pre_activation=True))
    # x (stem out, no ReLU) is read by the add later, so relu(x) is a second tensor, read by
    # conv1 at 4 bits; x itself is kept at fc's 6 bits through the add.
    x, r = 64 * 6, 64 * 4
    assert per_layer["stem"] == max(32 * 8 + x, x + r)  # the ReLU's step is charged to stem
    assert per_layer["conv1"] == x + r + 64 * 2  # conv1's output, ReLU fused, read by conv2


def test_pooling_output_is_a_tensor_of_its_own():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(8, 2))
    layers = extract_layers(net, (1, 1, 4, 4))
    bits = BitMatrix.from_layer_quants([{"0": LayerQuant(8, 8), "3": LayerQuant(8, 4)}],
                                       layers.names)
    per_layer = get_cost_model("generic").layer_metrics(layers.arrays, bits)
    conv = per_layer["peak_activation_bits"][0, 0]
    # conv: input 16 x 8 and output 32 x 4 (read through the pool by the linear layer);
    # the pool then holds its input (32 x 4) and output (8 x 4)
    assert conv == max(16 * 8 + 32 * 4, 32 * 4 + 8 * 4)
    assert per_layer["peak_activation_bits"][0, 1] == 8 * 4 + 2 * 32


def test_resnet20_peak_counts_the_skip():
    from codesign.models import create_model

    layers = extract_layers(create_model("resnet20", 10, 3, 32), (1, 3, 32, 32))
    bits = BitMatrix.uniform(len(layers.layers), 8, 8)
    got = get_cost_model("generic").totals(layers.arrays, bits)["peak_activation_bits"][0]
    # the first stage holds three 16 x 32 x 32 maps at once (skip, block input or output,
    # new output), all at 8 bits
    assert got == 3 * 16 * 32 * 32 * 8
    assert list(layers.arrays.unsigned_input) == [False] + [True] * 19
