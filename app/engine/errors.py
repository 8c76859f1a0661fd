"""Why a `.keras` file cannot be served: unreadable, or using what the engine does not implement."""

from __future__ import annotations

from app.errors import ArtifactError


class ModelFormatError(ArtifactError):
    """The file is not a readable Keras 3 ``.keras`` artifact (missing, corrupt, incomplete)."""


class UnsupportedModelError(ModelFormatError):
    """The artifact is readable but uses a layer or option this engine does not implement."""
