"""Model metadata: what is served, in which version, and what training measured."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.contract.manifest import ModelCard
from app.errors import NotFound
from app.http.auth import PROTECTED
from app.http.deps import RegistryDep
from app.http.responses import error_responses
from app.registry import ModelState
from app.request_context import note_served
from app.v1.schemas import ModelDetail, ModelStatus

router = APIRouter(
    prefix="/v1/models", tags=["models"], dependencies=PROTECTED, responses=error_responses(401)
)


def _status(state: ModelState) -> ModelStatus:
    return ModelStatus(
        name=state.name,
        state=state.status,
        version=state.served.version if state.served else None,
        versions_on_disk=list(state.versions),
        reason=state.reason,
        refused=state.failures,
    )


@router.get("", summary="Every model: served version, versions on disk, state")
def list_models(registry: RegistryDep) -> list[ModelStatus]:
    return [_status(state) for state in registry.states()]


@router.get(
    "/{name}",
    summary="The served version's manifest: pipeline, architecture, training, metrics",
    responses=error_responses(404, 503),
)
def describe_model(name: str, registry: RegistryDep) -> ModelDetail:
    state = registry.state(name)  # one snapshot: served version and versions on disk agree
    manifest = state.require_served().forecaster.manifest
    public = manifest.model_dump(include=set(ModelCard.model_fields))
    return ModelDetail(**public, versions_on_disk=list(state.versions))


@router.get(
    "/{name}/report.png",
    summary="The training report plot of the served version",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **error_responses(404, 503)},
)
def report(name: str, registry: RegistryDep) -> Response:
    served = registry.served(name)
    note_served(name, served.version)
    if served.report is None:
        raise NotFound(f"model {name!r} version {served.version} has no report.png")
    return Response(served.report, media_type="image/png")
