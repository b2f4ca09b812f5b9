"""Layer extraction against hand counts, fvcore, and the published torchvision figures."""

import warnings

import pytest
import torch
import torchvision
from torch import nn

from codesign.errors import CodesignError
from hw_models import UncostedLayersWarning, extract_layers


def small_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),            # 8x8 out, 8 ch: 512 outputs x 27 = 13,824 MACs
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),  # depthwise: 512 x 9 = 4,608 MACs
        nn.Conv2d(8, 16, 1, stride=2, groups=2, bias=False),  # grouped 1x1: 256 x 4 = 1,024
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 10),                # 256 x 10 = 2,560 MACs
    )


@pytest.fixture(scope="module")
def small_layers():
    return extract_layers(small_net(), (1, 3, 8, 8))


def test_hand_counted_macs_params_and_kinds(small_layers):
    by_name = {layer.name: layer for layer in small_layers.layers}
    assert list(by_name) == ["0", "3", "4", "6"]
    expected = {  # name: (kind, macs, params, in_elems, out_elems, groups)
        "0": ("conv", 8 * 8 * 8 * 3 * 9, 8 * 3 * 9, 3 * 64, 8 * 64, 1),
        "3": ("depthwise", 8 * 8 * 8 * 9, 8 * 9, 8 * 64, 8 * 64, 8),
        "4": ("conv", 16 * 4 * 4 * 4, 16 * 4, 8 * 64, 16 * 16, 2),
        "6": ("linear", 256 * 10, 2560, 256, 10, 1),
    }
    for name, (kind, macs, params, in_elems, out_elems, groups) in expected.items():
        layer = by_name[name]
        got = (layer.kind, layer.macs, layer.params, layer.in_elems, layer.out_elems, layer.groups)
        assert got == (kind, macs, params, in_elems, out_elems, groups), name
    assert by_name["4"].stride == (2, 2) and by_name["3"].kernel == (3, 3)
    assert by_name["3"].fan_in == 9 and by_name["4"].fan_in == 4 and by_name["6"].fan_in == 256
    # float parameters: conv0 bias 8, batch-norm weight + bias 16, linear bias 10
    assert small_layers.float_params == 8 + 16 + 10


def test_batch_scales_macs_and_activations():
    one = extract_layers(small_net(), (1, 3, 8, 8)).layers
    four = extract_layers(small_net(), (4, 3, 8, 8)).layers
    for a, b in zip(one, four, strict=True):
        assert (b.macs, b.in_elems, b.out_elems, b.params) == (
            4 * a.macs, 4 * a.in_elems, 4 * a.out_elems, a.params)


def test_macs_match_fvcore(small_layers):
    from fvcore.nn import FlopCountAnalysis

    net = small_net().eval()
    counts = FlopCountAnalysis(net, torch.zeros(1, 3, 8, 8))
    counts.unsupported_ops_warnings(False)
    counts.uncalled_modules_warnings(False)
    by_module = counts.by_module()
    for layer in small_layers.layers:
        assert by_module[layer.name] == layer.macs, layer.name


def test_reused_module_is_one_layer_with_summed_macs():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(self.fc(x))

    (layer,) = extract_layers(Twice(), (2, 4)).layers
    assert (layer.name, layer.calls, layer.macs, layer.params) == ("fc", 2, 2 * 2 * 16, 16)


class WithMatmul(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.temporal = nn.ConvTranspose1d(4, 4, 1)

    def forward(self, x):
        y = self.proj(x)
        z = self.temporal(y.unsqueeze(-1)).squeeze(-1)
        return z @ z.transpose(0, 1)


def test_uncosted_layers_are_named_in_a_warning_or_an_error():
    with pytest.warns(UncostedLayersWarning) as record:
        layers = extract_layers(WithMatmul(), (2, 4))
    message = str(record[0].message)
    assert "temporal [conv_transpose1d]" in message and "(top level) [" in message
    assert [layer.name for layer in layers.layers] == ["proj"]
    assert layers.float_params == 4 + 4 * 4 + 4  # proj bias, transposed conv weight and bias
    with pytest.raises(CodesignError, match="temporal"):
        extract_layers(WithMatmul(), (2, 4), strict=True)


def test_no_warning_for_plain_cnn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extract_layers(small_net(), (1, 3, 8, 8))


def test_train_flags_are_restored_and_bad_shapes_rejected():
    net = small_net().train()
    net[1].eval()
    extract_layers(net, (1, 3, 8, 8))
    assert net.training and not net[1].training and net[0].training
    with pytest.raises(CodesignError, match="input shape"):
        extract_layers(net, (1, 5, 8, 8))
    with pytest.raises(CodesignError, match="invalid"):
        extract_layers(net, (0, 3, 8, 8))


def _totals(layers):
    macs = sum(layer.macs for layer in layers.layers)
    return macs, sum(layer.params for layer in layers.layers) + layers.float_params


def test_resnet18_matches_published_figures(resnet18_layers):
    macs, params = _totals(resnet18_layers)
    assert macs / 1e9 == pytest.approx(1.814, abs=0.001)  # torchvision: 1.81 GFLOPS (MACs)
    assert params == 11_689_512  # torchvision: 11.69 M
    assert len(resnet18_layers.layers) == 21  # stem + 16 block convs + 3 downsamples + fc
    assert resnet18_layers.layers[-1].name == "fc"


def test_mobilenet_v2_matches_published_figures():
    net = torchvision.models.mobilenet_v2()
    layers = extract_layers(net, (1, 3, 224, 224))
    macs, params = _totals(layers)
    assert macs / 1e9 == pytest.approx(0.300, abs=0.001)  # Sandler et al.: 300 M MACs
    assert params / 1e6 == pytest.approx(3.50, abs=0.005)  # 3.4 M + classifier = 3.50 M
    assert params == sum(p.numel() for p in net.parameters())
    kinds = [layer.kind for layer in layers.layers]
    assert kinds.count("depthwise") == 17 and kinds[-1] == "linear"
