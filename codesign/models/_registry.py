"""The model registry: every architecture built by one factory, `create_model`.

An entry builds a float `nn.Module` for a given class count, input channels and image size.
Every layer a quantizer or a cost model must see is its own `nn.Conv2d` or `nn.Linear` module
(no functional convolutions, no shared weights), and activations are `nn.ReLU`-style modules
that never work in place, so a quantizer reading a tensor never sees it overwritten.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from codesign._registry import Registry
from codesign.errors import CodesignError, reject_unknown
from codesign.refs import MODEL_GROUP, load_function, names_user_code

ModelBuilder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelSpec:
    """A registered architecture: its builder and the input (channels, size) it was made for."""

    build: ModelBuilder
    natural_input: tuple[int, int]

    def options(self) -> dict[str, Any]:
        """The builder's keyword options (`model_args`) with their defaults."""
        return {
            p.name: p.default
            for p in inspect.signature(self.build).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }


MODELS: Registry[ModelSpec] = Registry("model")


def register_model(
    name: str, natural_input: tuple[int, int], description: str | None = None
) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator for `build(num_classes, in_channels, image_size, *, option=default, ...)`."""

    def add(build: ModelBuilder) -> ModelBuilder:
        doc = description or (build.__doc__ or "").strip()
        MODELS.add(name, ModelSpec(build, natural_input), doc)
        return build

    return add


def _positive(value: Any, what: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise CodesignError(f"{what}={value!r}; use an integer >= {minimum}")
    return value


def create_model(
    name: str, num_classes: int, in_channels: int, image_size: int, **model_args: Any
) -> nn.Module:
    """The float model `name` for `num_classes` classes and `in_channels` x `image_size`^2 inputs.

    `model_args` are the architecture's options (see `MODELS.get(name).options()`); an unknown
    one raises `CodesignError` listing those accepted.
    """
    spec = MODELS.get(name)
    _positive(num_classes, "num_classes", 2)
    _positive(in_channels, "in_channels", 1)
    _positive(image_size, "image_size", 1)
    accepted = spec.options()
    reject_unknown(model_args, accepted, f"model '{name}': model_args", "argument")
    return spec.build(num_classes, in_channels, image_size, **model_args)


def build_network(
    name: str, num_classes: int, input_shape: tuple[int, ...], **model_args: Any
) -> nn.Module:
    """The float model `name` for `num_classes` classes and inputs of `input_shape` (one
    sample, no batch dimension): a registered model (square images, (C, S, S)), or a user
    builder `build(num_classes, input_shape, **model_args) -> nn.Module` named by an
    entry point of `codesign.models` or a reference (see `codesign.refs`)."""
    shape = tuple(int(d) for d in input_shape)
    if not names_user_code(name, MODELS, MODEL_GROUP):
        MODELS.get(name)
        if len(shape) != 3 or shape[1] != shape[2]:
            raise CodesignError(
                f"model '{name}' takes square images (channels, size, size), not inputs of "
                f"shape {shape}; use a model of your own (model: path/to/file.py:function)"
            )
        return create_model(name, num_classes, shape[0], shape[1], **model_args)
    build = load_function(name, MODEL_GROUP, "model")
    try:
        model = build(num_classes, shape, **model_args)
    except TypeError as err:
        raise CodesignError(
            f"model '{name}' cannot be called as build(num_classes, input_shape, "
            f"**{sorted(model_args)}) ({err}); give it that signature"
        ) from None
    if not isinstance(model, nn.Module):
        raise CodesignError(
            f"model '{name}' returned a {type(model).__name__}, not a torch nn.Module; "
            "return the network from the function"
        )
    return model
