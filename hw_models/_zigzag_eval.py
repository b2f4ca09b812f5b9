"""Run ZigZag on one layer: the only module that imports `zigzag`.

The stage pipeline is the one `zigzag.api.get_hardware_performance_zigzag` builds (latency
as the mapping criterion, LOMA with its default lpf limit and 3 spatial mappings; the IMC
variant for in-memory-compute arrays), minus its stages that save JSON, pickles and figures
to a dump folder: results come back as plain floats, nothing is written to disk.

One layer shape is evaluated at several precisions in one call. The first `searched` of
them (the references, 8 x 8 and 2 x 2) run LOMA's full search over loop orderings; the others
re-allocate only the `REPLAYED_ORDERINGS` best orderings of each reference search per spatial
mapping to the memories at their own operand widths (a spatial mapping no reference saw gets
the full search). A loop ordering and its prime factors depend on the layer and the spatial
mapping, not on the operand widths; the widths change how many loops fit each memory level,
which the re-allocation recomputes. What is assumed is that the best ordering at other widths
is among the best few at the narrowest or the widest; `tests/hw_models/test_zigzag.py` and
`scripts/bench_zigzag.py --check` compare it with the full search.
"""

from __future__ import annotations

import logging
from typing import Any

from codesign.errors import CodesignError

LPF_LIMIT = 6
SPATIAL_MAPPINGS = 3
REPLAYED_ORDERINGS = 8  # per reference search and spatial mapping


def zigzag_version() -> str | None:
    """The installed zigzag-dse version, or None (read without importing ZigZag)."""
    from importlib import metadata

    try:
        return metadata.version("zigzag-dse")
    except metadata.PackageNotFoundError:
        return None


class _Collect(logging.Handler):
    """Keeps the messages ZigZag's validators log instead of raising."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


def parse_accelerator(data: dict[str, Any], where: str) -> Any:
    """A ZigZag `Accelerator` from already-loaded YAML data; a bad file is one line."""
    from zigzag.parser.accelerator_factory import AcceleratorFactory
    from zigzag.parser.accelerator_validator import AcceleratorValidator

    logger = logging.getLogger("zigzag")
    collect = _Collect()
    logger.addHandler(collect)
    logger.propagate = False
    try:
        validator = AcceleratorValidator(data)
        normalized = validator.normalized_data
        valid = validator.validate()
    except Exception as err:
        raise CodesignError(f"ZigZag accelerator file {where} is malformed: {err}") from None
    finally:
        logger.removeHandler(collect)
    if not valid:
        errors = validator.validator.errors or "; ".join(collect.messages)
        errors = " ".join(str(errors).split())
        raise CodesignError(f"ZigZag accelerator file {where} is malformed: {errors}")
    try:
        return AcceleratorFactory(normalized).create()
    except Exception as err:
        raise CodesignError(f"ZigZag accelerator file {where} is malformed: {err}") from None


class _Orderings:
    """The best loop orderings per spatial mapping, recorded during the reference searches."""

    def __init__(self) -> None:
        self.recording = True
        self.best: dict[str, list[list[Any]]] = {}


def _ordering_stage() -> type:
    """A temporal-mapping stage that records the best orderings, or replays them."""
    from zigzag.opt.loma.engine import LomaEngine, NoValidLoopOrderingFoundException
    from zigzag.opt.loma.memory_allocator import (
        MemoryAllocator,
        MemoryHierarchyTooSmallException,
        MemoryTooSmallException,
    )
    from zigzag.stages.mapping.temporal_mapping_generator_stage import (
        TemporalMappingGeneratorStage,
    )

    class OrderingStage(TemporalMappingGeneratorStage):
        def __init__(self, list_of_callables: list[Any], *, orderings: _Orderings,
                     **kwargs: Any) -> None:
            super().__init__(list_of_callables, **kwargs)
            self.orderings = orderings

        def run(self) -> Any:
            key = str(self.spatial_mapping)
            scored: list[tuple[float, float, int, list[Any]]] = []
            for ordering, temporal in self._allocations(key):
                kwargs = {**self.kwargs, "accelerator": self.accelerator, "layer": self.layer,
                          "spatial_mapping": self.spatial_mapping,
                          "temporal_mapping": temporal}
                substage = self.list_of_callables[0](self.list_of_callables[1:], **kwargs)
                for cme, extra in substage.run():
                    scored.append((cme.latency_total2, cme.energy_total, len(scored), ordering))
                    yield cme, (temporal, extra)
            if self.orderings.recording:
                scored.sort(key=lambda item: item[:3])
                best = self.orderings.best.setdefault(key, [])
                best += [item[3] for item in scored[:REPLAYED_ORDERINGS] if item[3] not in best]

        def _allocations(self, key: str) -> Any:
            replay = None if self.orderings.recording else self.orderings.best.get(key)
            found = list(self._allocate(replay)) if replay else []
            if not found:
                found = self._allocate(self._all_orderings())
            empty = True
            for item in found:
                empty = False
                yield item
            if empty:
                raise NoValidLoopOrderingFoundException(
                    f"no loop ordering of layer {self.layer} fits the memory hierarchy")

        def _allocate(self, orderings: Any) -> Any:
            for ordering in orderings:
                allocator = MemoryAllocator(self.accelerator, self.layer, self.spatial_mapping,
                                            ordering, self.mapping_type)
                try:
                    yield ordering, allocator.run()
                except (MemoryHierarchyTooSmallException, MemoryTooSmallException):
                    continue

        def _all_orderings(self) -> Any:
            """LOMA's orderings, as `LomaEngine.run` enumerates them."""
            engine = LomaEngine(accelerator=self.accelerator, layer=self.layer,
                                spatial_mapping=self.spatial_mapping,
                                mapping_type=self.mapping_type, **self.kwargs)
            provided = self.layer.temporal_ordering
            loops = engine.get_temporal_loops()
            if provided.is_complete(loops):
                return [provided.to_legacy_format()]
            constraints = provided.get_constraints()
            if any(not constraint.is_empty() for constraint in constraints):
                engine.set_constraints(constraints)
            engine.temporal_loop_dim_size = loops
            engine.update_min_lpf_factor(loops)
            engine.get_prime_factors()
            return engine.ordering_generator()

    return OrderingStage


def _install_imc_fix() -> None:
    """Let ZigZag's IMC model run weights narrower than its cell groups.

    zigzag-dse 3.9's `ImcUnit.get_precharge_energy` (taken when cells hold more than one
    weight) reads `DataMovePattern.data_elem_move_count.rd_out_to_low`, an attribute its
    own `DataMovePattern` replaced by `get_attribute(DataMoveAttr.DATA_ELEM_MOVE_COUNT)`;
    the read fails with AttributeError. This adds the old read-only view, nothing else.
    """
    from types import SimpleNamespace

    from zigzag.mapping.data_movement import DataMoveAttr, DataMovePattern

    if hasattr(DataMovePattern, "data_elem_move_count"):
        return

    def data_elem_move_count(self: Any) -> SimpleNamespace:
        counts = self.get_attribute(DataMoveAttr.DATA_ELEM_MOVE_COUNT)
        return SimpleNamespace(**{str(d.value): v for d, v in counts.data.items()})

    DataMovePattern.data_elem_move_count = property(data_elem_move_count)  # type: ignore[attr-defined]


def _stages(imc: bool) -> list[Any]:
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.exploit_data_locality_stages import (
        ExploitInterLayerDataLocalityStage,
        SearchInterLayerDataLocalityStage,
    )
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.stages.results.reduce_stages import MinimalLatencyStage
    from zigzag.stages.workload_iterator import WorkloadStage

    stages = [
        WorkloadParserStage,
        SearchInterLayerDataLocalityStage if imc else None,
        WorkloadStage,
        ExploitInterLayerDataLocalityStage if imc else None,
        MinimalLatencyStage,
        SpatialMappingGeneratorStage,
        MinimalLatencyStage,
        _ordering_stage(),
        CostModelStage,
    ]
    return [stage for stage in stages if stage is not None]


def evaluate_layer(items: list[tuple[dict[str, Any], list[dict[str, Any]]]],
                   mapping: str, where: str, searched: int) -> list[dict[str, Any]]:
    """Latency (cycles), energy (pJ, MAC and per memory level) of one layer shape at several
    precisions: `items` are (accelerator data, one-layer workload) pairs, the first
    `searched` the references whose full searches seed the others (module docstring).

    Returns per item {"latency_cycles", "energy_pj", "mac_energy_pj", "memory_pj": {level:
    pJ}, "tclk_ns" (IMC arrays only, else None)}, or {"refused": why} for a precision ZigZag
    cannot map, so that the refusal is cached like a result.
    """
    logging.getLogger("zigzag").setLevel(logging.CRITICAL + 1)  # failures raise instead
    orderings = _Orderings()
    results = []
    for i, (accelerator, workload) in enumerate(items):
        orderings.recording = i < searched
        results.append(_evaluate_one(accelerator, mapping, workload, where, orderings))
    return results


def _evaluate_one(accelerator: dict[str, Any], mapping: str, workload: list[dict[str, Any]],
                  where: str, orderings: _Orderings) -> dict[str, Any]:
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.stages.main import MainStage

    imc = bool(accelerator.get("operational_array", {}).get("is_imc", False))
    if imc:
        _install_imc_fix()
    hardware = parse_accelerator(accelerator, where)
    main = MainStage(
        list_of_callables=_stages(imc),
        accelerator=hardware,
        workload=workload,
        mapping=mapping,
        dump_folder=None,
        loma_lpf_limit=LPF_LIMIT,
        loma_show_progress_bar=False,
        nb_mappings_generated=SPATIAL_MAPPINGS,
        enable_mix_spatial_mapping_generation=imc,
        access_same_data_considered_as_no_access=True,
        temporal_mapping_type=TemporalMappingType("uneven"),
        orderings=orderings,
    )
    try:
        cme = main.run()[0][0]
    except Exception as err:
        message = " ".join(str(err).split())[:300]
        return {"refused": f"ZigZag cannot map layer '{workload[0]['name']}' at weights "
                           f"{workload[0]['operand_precision']['W']}-bit / activations "
                           f"{workload[0]['operand_precision']['I']}-bit on {where}: "
                           f"{message}"}
    memory: dict[str, float] = {}
    for operand, per_level in cme.mem_energy_breakdown.items():
        mem_names = [level.name for level in cme.accelerator.memory_hierarchy.get_memory_levels(
            cme.memory_operand_links.layer_to_mem_op(operand))]
        for name, energy in zip(mem_names, per_level, strict=False):
            memory[name] = memory.get(name, 0.0) + float(energy)
    return {
        "latency_cycles": float(cme.latency_total2),
        "energy_pj": float(cme.energy_total),
        "mac_energy_pj": float(cme.mac_energy),
        "memory_pj": memory,
        "tclk_ns": float(cme.tclk) if imc else None,
    }
