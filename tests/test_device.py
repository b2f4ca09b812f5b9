"""Where trials run, checked on any machine: device names and their resolution (the clear line
where CUDA is missing, before any trial starts), the device every trial of a search is given,
batches delivered on a device in the loader's order, host reads kept out of the batch loop,
bfloat16 autocast with float32 quantizers, and checkpoints as CPU tensors."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset

from codesign.cli import main
from codesign.config import AnnealConfig, LayerQuant, TrainConfig, TrialConfig
from codesign.data import DatasetSplits, device_loaders, load_dataset, make_loaders
from codesign.device import NO_CUDA, resolve_device
from codesign.errors import CodesignError
from codesign.nn import layer_quantizers
from codesign.quant import AnnealingController, Fusable
from codesign.search.trial import trial_device
from codesign.space import load_space
from codesign.train import (
    EpochTally,
    build_model,
    cpu_state_dict,
    evaluate,
    train_step,
    train_trial,
    with_data_shape,
)

DIGITS = load_dataset("digits").info
HAS_CUDA = torch.cuda.is_available()
needs_no_cuda = pytest.mark.skipif(HAS_CUDA, reason="checks the error of a machine without CUDA")


@pytest.fixture(autouse=True)
def eager_and_one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CODESIGN_COMPILE", "0")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def digits_config(**train: object) -> TrialConfig:
    layers = {
        "conv1": LayerQuant.of(8, 8),
        "conv2": LayerQuant(w_format="ternary", w_bits=2, a_bits=4),
        "conv3": LayerQuant.of(4, 4, estimator="ste"),
        "fc": LayerQuant.of(8, 8),
    }
    return TrialConfig(model="digits_cnn", dataset="digits", layers=layers,
                       anneal=AnnealConfig(sync="same_end", end=0.9),
                       train=TrainConfig(**train))  # type: ignore[arg-type]


# -- names and resolution --------------------------------------------------------------------


def test_cpu_and_auto_resolve_on_every_machine() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = torch.device("cuda", 0) if HAS_CUDA else torch.device("cpu")
    assert resolve_device("auto") == expected


@needs_no_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1", "cuda:12"])
def test_cuda_without_a_gpu_is_the_one_clear_error(name: str) -> None:
    with pytest.raises(CodesignError) as err:
        resolve_device(name)
    assert str(err.value) == NO_CUDA == "no CUDA device here; use --device cpu"


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_cuda_names_resolve_to_existing_gpus_only() -> None:
    assert resolve_device("cuda") == resolve_device("cuda:0") == torch.device("cuda", 0)
    count = torch.cuda.device_count()
    with pytest.raises(CodesignError, match=f"shows {count} CUDA device"):
        resolve_device(f"cuda:{count}")


@pytest.mark.parametrize("name", ["gpu", "CUDA", "cuda:", "cuda:x", "cuda:-1", "", "mps", 0])
def test_unknown_device_names_are_refused_with_the_choices(name: object) -> None:
    with pytest.raises(CodesignError, match="unknown device .*use auto, cpu, cuda, cuda:N"):
        resolve_device(name)  # type: ignore[arg-type]
    with pytest.raises(CodesignError, match="unknown device"):
        TrainConfig(device=name)  # type: ignore[arg-type]


@pytest.mark.parametrize("train, culprit", [
    ({"amp": "fp16"}, "unknown amp mode 'fp16'"),
    ({"num_workers": -1}, "num_workers=-1"),
])
def test_bad_amp_and_worker_counts_are_refused(train: dict, culprit: str) -> None:
    with pytest.raises(CodesignError, match=culprit):
        TrainConfig(**train)


def test_a_space_file_names_its_bad_device(tmp_path: Path) -> None:
    text = (Path(__file__).parents[1] / "search_spaces" / "digits_cnn.yaml").read_text()
    space = tmp_path / "space.yaml"
    space.write_text(text.replace("\ntrain:\n", "\ntrain:\n  device: gpu0\n", 1))
    with pytest.raises(CodesignError, match=r"train.*device.*gpu0"):
        load_space(str(space))


# -- before any trial starts -----------------------------------------------------------------


@needs_no_cuda
def test_train_asking_for_cuda_stops_before_the_trial(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["train", "--device", "cuda", "--epochs", "1", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].endswith(NO_CUDA)
    assert not out.exists()


@needs_no_cuda
def test_search_asking_for_cuda_stops_before_any_trial(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["search", "--device", "cuda:1", "--trials", "1", "--epochs", "1",
                 "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].endswith(NO_CUDA)
    assert not out.exists()


@needs_no_cuda
def test_worker_asking_for_cuda_stops_before_creating_the_study(tmp_path: Path, capsys) -> None:
    db = tmp_path / "study.db"
    code = main(["worker", "--storage", f"sqlite:///{db}", "--study", "s", "--space",
                 "digits_cnn", "--trials", "1", "--out", str(tmp_path / "run"),
                 "--device", "cuda:1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].endswith(NO_CUDA)
    assert not db.exists()


def test_ray_trials_get_the_gpu_ray_gave_them_or_the_cpu() -> None:
    space = load_space("digits_cnn")
    assert trial_device(space, "auto", ray_gpus=0.0) == "cpu"
    assert trial_device(space, None, ray_gpus=0.0) == "cpu"
    assert trial_device(space, "auto", ray_gpus=0.25) == "auto"
    assert trial_device(space, "cuda", ray_gpus=0.5) == "cuda"
    with pytest.raises(CodesignError, match="--gpus-per-trial"):
        trial_device(space, "cuda", ray_gpus=0.0)
    with pytest.raises(CodesignError, match="sees only the GPU Ray gave it"):
        trial_device(space, "cuda:1", ray_gpus=1.0)


# -- batches on a device ---------------------------------------------------------------------


class _Listed(Dataset):
    """A split that is not held in memory as tensors: read sample by sample."""

    def __init__(self, source: Dataset) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.source[i]


@pytest.mark.parametrize("in_memory", [True, False])
def test_device_batches_are_the_loaders_batches_in_the_same_order(in_memory: bool) -> None:
    splits = load_dataset("digits")
    if not in_memory:
        splits = DatasetSplits(_Listed(splits.train), _Listed(splits.val), _Listed(splits.test),
                               splits.info)
    plain = make_loaders(splits, 64, seed=3)
    on_cpu = device_loaders(splits, 64, torch.device("cpu"), seed=3)
    for loader, fed in zip(plain, on_cpu, strict=True):
        assert len(loader) == len(fed)
        for _epoch in range(2):  # the shuffle of the second epoch too
            for (x, y), (fx, fy) in zip(loader, fed, strict=True):
                assert torch.equal(x, fx) and torch.equal(y, fy)


# -- no host reads inside the batch loop -----------------------------------------------------


def _forbid_host_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: torch.Tensor, *args: object, **kwargs: object) -> None:
        raise AssertionError("a tensor value was read on the host inside the batch loop")

    for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__int__", "__float__",
                 "__index__"):
        monkeypatch.setattr(torch.Tensor, name, refuse)


@pytest.mark.parametrize("strategy", ["expectation", "random", "mode"])
def test_training_steps_read_no_tensor_on_the_host(monkeypatch: pytest.MonkeyPatch,
                                                   strategy: str) -> None:
    """The trainer's batch step (annealing, forward, calibration refreshes, backward, update,
    epoch tally): on a GPU any host read there would stall every batch. SGD, because Adam
    reads its step counter, a host tensor of torch's own."""
    cfg = digits_config(optimizer="sgd", lr=0.05)
    cfg = dataclasses.replace(cfg, anneal=dataclasses.replace(cfg.anneal, strategy=strategy))
    model = build_model(with_data_shape(cfg, DIGITS))
    train, _, _ = device_loaders(load_dataset("digits"), 64, torch.device("cpu"))
    batches = list(train)[:20]
    controller = AnnealingController(layer_quantizers(model), cfg.anneal)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=len(batches))
    tally = EpochTally(torch.device("cpu"), 100.0)
    model.train()

    def step(i: int) -> None:
        inputs, targets = batches[i]
        train_step(model, inputs, targets, optimizer, scheduler, controller,
                   i / len(batches), tally, i)

    step(0)  # the first batch decides each activation grid's signedness, once
    with monkeypatch.context() as guard:
        _forbid_host_reads(guard)
        for i in range(1, len(batches)):  # eps refreshes at steps 1..7 and 16
            step(i)
    loss, accuracy = tally.read()
    assert loss > 0 and 0 <= accuracy <= 1 and tally.seen == sum(len(y) for _, y in batches)


def test_divergence_is_reported_at_its_first_step_after_the_epoch() -> None:
    tally = EpochTally(torch.device("cpu"), 10.0)
    logits, targets = torch.zeros(4, 10), torch.zeros(4, dtype=torch.long)
    for step, loss in enumerate([2.0, 3.0, 12.5, float("nan"), 1.0]):
        tally.add(step, torch.tensor(loss), logits, targets)
    with pytest.raises(Exception, match=r"training loss 12.5 at step 2 \(limit 10\)"):
        tally.read()


# -- compile policy per device ---------------------------------------------------------------


def test_compile_policy_is_decided_per_device(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = Fusable(lambda x: x * 2.0, "double")
    monkeypatch.setenv("CODESIGN_COMPILE", "auto")
    assert kernel._use_compiled("cuda", 1) and not kernel._use_compiled("cpu", 1)
    assert kernel._use_compiled("cpu", 1 << 20)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no compiler")

    monkeypatch.setattr(torch, "compile", broken)
    monkeypatch.setenv("CODESIGN_COMPILE", "on")
    with pytest.warns(RuntimeWarning, match="double on cpu"):
        assert torch.equal(kernel(torch.ones(3)), torch.full((3,), 2.0))
    assert not kernel._use_compiled("cpu", 1) and kernel._use_compiled("cuda", 1)
    monkeypatch.setenv("CODESIGN_COMPILE", "off")
    assert not kernel._use_compiled("cuda", 1)


# -- mixed precision ---------------------------------------------------------------------------


def test_bf16_autocast_leaves_every_quantizer_in_float32_on_its_grid() -> None:
    cfg = digits_config()
    model = build_model(with_data_shape(cfg, DIGITS))
    inputs = load_dataset("digits").train.tensors[0][:64]  # type: ignore[attr-defined]
    seen: list[tuple[torch.dtype, torch.dtype]] = []
    outputs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def record(quantizer, args, output) -> None:  # noqa: ANN001
        seen.append((args[0].dtype, output.dtype))
        outputs.append((output.detach(), quantizer.eps.detach()))

    quantizers = [q for layer in layer_quantizers(model) for q in layer]
    for quantizer in quantizers:
        quantizer.register_forward_hook(record)
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(inputs)
    assert logits.dtype == torch.bfloat16  # the layers did run in bfloat16
    assert seen and all(d == (torch.float32, torch.float32) for d in seen)
    for output, eps in outputs:
        levels = output / (eps.view(-1, *[1] * (output.dim() - 1)) if eps.dim() else eps)
        assert torch.allclose(levels, levels.round(), atol=1e-4)  # exactly on the stair


def test_a_bf16_trial_learns_and_reports_float32_accuracy(tmp_path: Path) -> None:
    result = train_trial(digits_config(epochs=2, amp="bf16"), tmp_path / "amp", device="cpu")
    assert result.status == "ok" and result.val_accuracy is not None
    assert result.val_accuracy > 0.6
    state = torch.load(tmp_path / "amp" / "model.pt", weights_only=True)
    assert all(v.dtype != torch.bfloat16 for v in state.values())


# -- checkpoints -------------------------------------------------------------------------------


def test_the_checkpoint_holds_cpu_copies_that_load_with_weights_only(tmp_path: Path) -> None:
    cfg = digits_config(epochs=1)
    result = train_trial(cfg, tmp_path / "trial", device="cpu")
    state = torch.load(tmp_path / "trial" / "model.pt", weights_only=True)
    assert state and all(v.device.type == "cpu" for v in state.values())
    fresh = build_model(with_data_shape(cfg, DIGITS))
    fresh.load_state_dict(state)
    _, val, _ = make_loaders(load_dataset("digits"), 64)
    assert evaluate(fresh, val) == result.val_accuracy

    copy = cpu_state_dict(fresh)  # copies, even of a model already on the CPU
    with torch.no_grad():
        fresh.fc.weight.add_(1.0)
    assert not torch.equal(copy["fc.weight"], fresh.fc.weight)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
