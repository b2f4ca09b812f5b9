"""Run ZigZag on one layer: the only module that imports `zigzag`.

The stage pipeline is the one `zigzag.api.get_hardware_performance_zigzag` builds (latency
as the mapping criterion, LOMA with its default lpf limit and 3 spatial mappings; the IMC
variant for in-memory-compute arrays), minus its stages that save JSON, pickles and figures
to a dump folder: results come back as plain floats, nothing is written to disk.
"""

from __future__ import annotations

import logging
from typing import Any

from codesign.errors import CodesignError

LPF_LIMIT = 6
SPATIAL_MAPPINGS = 3


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


def _stages(imc: bool) -> list[Any]:
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.exploit_data_locality_stages import (
        ExploitInterLayerDataLocalityStage,
        SearchInterLayerDataLocalityStage,
    )
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import (
        TemporalMappingGeneratorStage,
    )
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
        TemporalMappingGeneratorStage,
        CostModelStage,
    ]
    return [stage for stage in stages if stage is not None]


def evaluate(accelerator: dict[str, Any], mapping: str, workload: list[dict[str, Any]],
             where: str) -> dict[str, Any]:
    """Latency (cycles), energy (pJ, MAC and per memory level) of a one-layer workload.

    Returns {"latency_cycles", "energy_pj", "mac_energy_pj", "memory_pj": {level: pJ},
    "tclk_ns" (IMC arrays only, else None)}; a layer ZigZag cannot map raises `CodesignError`.
    """
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.stages.main import MainStage

    logging.getLogger("zigzag").setLevel(logging.CRITICAL + 1)  # failures raise instead
    imc = bool(accelerator.get("operational_array", {}).get("is_imc", False))
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
    )
    try:
        cme = main.run()[0][0]
    except Exception as err:
        message = " ".join(str(err).split())[:300]
        raise CodesignError(f"ZigZag cannot map layer '{workload[0]['name']}' at weights "
                            f"{workload[0]['operand_precision']['W']}-bit / activations "
                            f"{workload[0]['operand_precision']['I']}-bit on {where}: "
                            f"{message}") from None
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
