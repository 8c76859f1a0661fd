"""The manifest schema: what training may write and serving will accept, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.contract.manifest import Manifest, PipelineInfo
from app.contract.scalers import SCALER_KINDS

ROOT = Path(__file__).resolve().parents[1]
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
    pipeline = {"look_back": 4, "transform": "difference", "scaler": "minmax", "season_length": 12}
    with pytest.raises(ValidationError, match=message):
        PipelineInfo.model_validate({**pipeline, **change})


def test_the_schema_lists_every_scaler_kind() -> None:
    schema = PipelineInfo.model_json_schema()
    assert schema["properties"]["scaler"]["enum"] == list(SCALER_KINDS)
