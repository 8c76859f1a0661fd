"""Example data the v1 API documents: the milk series and what the model said about it."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from app.http.examples import MILK, numbers

__all__ = ["EVALUATED", "MILK", "examples"]

# What the default model's one-step forecasts of the last 17 of those months look like.
EVALUATED = numbers(
    "851.8 810.2 804.3 769.2 803.5 824.5 771.6 892.6 905.0 969.1 944.4 901.1 860.6 805.9 809.6"
    " 783.0 834.7"
)


def examples(*examples: dict[str, Any], rules: dict[str, Any] | None = None) -> ConfigDict:
    """A body model's config: unknown fields refused, `examples` shown by OpenAPI.

    `rules` are JSON Schema keywords for what a `model_validator` checks between fields
    (`anyOf`, `oneOf`), so the schema a client reads accepts exactly what the model does.
    """
    extra = {"examples": list(examples), **(rules or {})}
    return ConfigDict(extra="forbid", json_schema_extra=extra)


def one_given(*fields: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Schemas each requiring one of `fields` present and not null (of its given schema)."""
    return [{"required": [name], "properties": {name: schema}} for name, schema in fields]
