"""The manifest schema: what training may write and serving will accept, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from liveserver import ROOT
from pydantic import TypeAdapter, ValidationError

from app.contract.manifest import (
    DifferencingInfo,
    Manifest,
    PipelineInfo,
    SeasonalInfo,
    describe_pipeline,
)
from app.contract.scalers import SCALER_KINDS
from app.contract.seasonal import SeasonalPipeline

PIPELINE: TypeAdapter[Any] = TypeAdapter(PipelineInfo)

COMMITTED = sorted(ROOT.glob("models/*/*/manifest.json"))


def _raw(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_every_committed_manifest_parses_and_round_trips(path: Path) -> None:
    manifest = Manifest.model_validate(_raw(path))
    assert Manifest.model_validate_json(manifest.model_dump_json()) == manifest


def test_unknown_fields_are_refused_at_every_level() -> None:
    raw = _raw(COMMITTED[0])
    with pytest.raises(ValidationError, match="extra"):
        Manifest.model_validate({**raw, "surprise": 1})
    with pytest.raises(ValidationError, match="extra"):
        Manifest.model_validate({**raw, "pipeline": {**raw["pipeline"], "surprise": 1}})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"look_back": 0}, "look_back must be at least 1"),
        ({"season_length": 1, "transform": "seasonal_difference"}, "season_length"),
        ({"scaler": "robust"}, "scaler 'robust' is not one of"),
        ({"transform": "wavelet"}, "transform"),
    ],
)
def test_pipeline_rules_are_the_contracts(change: dict[str, Any], message: str) -> None:
    pipeline = {
        "kind": "difference",
        "look_back": 4,
        "transform": "difference",
        "scaler": "minmax",
        "season_length": 12,
    }
    with pytest.raises(ValidationError, match=message):
        PIPELINE.validate_python({**pipeline, **change})


def test_a_seasonal_pipeline_rebuilds_what_training_fitted() -> None:
    fitted = SeasonalPipeline(
        look_back=6, season_length=12, seasons=6, decay=0.75, log=True, long_weight=0.4
    )
    info = PIPELINE.validate_python(describe_pipeline(fitted, "standard").model_dump())
    assert isinstance(info, SeasonalInfo) and info.spec() == fitted
    with pytest.raises(ValidationError, match="long_seasons must be at least seasons"):
        PIPELINE.validate_python({**info.model_dump(), "long_seasons": 3})
    with pytest.raises(ValidationError, match="decay"):
        PIPELINE.validate_python({**info.model_dump(), "decay": 0})
    with pytest.raises(ValidationError, match="kind"):
        PIPELINE.validate_python({**info.model_dump(), "kind": "wavelet"})


def test_a_format_4_seasonal_pipeline_keeps_the_short_memory_alone() -> None:
    """Versions written before the long memory serve as they did: m = 0, the same width."""
    milk = _raw(ROOT / "models" / "milk" / "3" / "manifest.json")
    assert milk["format_version"] == 4 and "long_weight" not in milk["pipeline"]
    pipeline = Manifest.model_validate(milk).pipeline.spec()
    assert isinstance(pipeline, SeasonalPipeline)
    assert pipeline.long_weight == 0.0
    assert pipeline.history_width == pipeline.look_back + 7 * 12 - 1


def test_the_schema_lists_every_scaler_kind() -> None:
    schema = DifferencingInfo.model_json_schema()
    assert schema["properties"]["scaler"]["enum"] == list(SCALER_KINDS)


def test_format_1_is_read_as_what_it_was_one_monthly_network_without_intervals() -> None:
    """Old versions keep serving: milk/1 and milk-seed/1 were written in format 1."""
    path = ROOT / "models" / "milk" / "1" / "manifest.json"
    raw = _raw(path)
    assert raw["format_version"] == 1
    manifest = Manifest.model_validate(raw)
    assert manifest.networks == ["model.keras"] and manifest.architecture.members == 1
    assert manifest.data.frequency == "monthly"
    assert manifest.intervals is None and manifest.calibration is None
    assert manifest.metrics.intervals == [] and manifest.metrics.steps == []


def test_format_2_states_everything_format_1_left_unsaid() -> None:
    raw = Manifest.model_validate(_raw(COMMITTED[0])).model_dump(mode="json")
    raw["format_version"] = 2
    Manifest.model_validate(raw)  # a complete format-2 manifest
    del raw["networks"]
    with pytest.raises(ValidationError, match="networks"):
        Manifest.model_validate(raw)
