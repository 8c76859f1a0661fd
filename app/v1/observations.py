"""Actuals posted back: `POST /v1/models/{name}/observations` stores what each series became.

Each row names a series the served version knows, a period of the model's calendar (its
ISO label, as forecasts by id give them) and the value. Every row is checked before any
is stored: a bad row is refused with its index and nothing of the request is written;
a good request is stored in one transaction (an upsert: posting the same rows twice
changes nothing, a corrected value replaces the old one) before the 200 is sent, so an
acknowledged observation is in the database (`app.ledger.store`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from app.contract.calendar import period_label, period_number
from app.contract.series import SeriesId
from app.errors import FieldError, InvalidInput
from app.http.auth import PROTECTED
from app.http.deps import LedgerDep, RegistryDep
from app.http.json_route import JSONBodyRoute
from app.http.responses import error_responses
from app.ledger.store import Observation
from app.ledger.tables import MAX_PERIOD
from app.v1.series import served_forecaster, table_of

MAX_OBSERVATIONS = 100_000
"""Rows per request: about 5 MB of JSON, stored in well under a second."""
MAX_ERRORS = 100  # bad rows named in a refusal; the message counts them all

router = APIRouter(
    prefix="/v1/models",
    tags=["models"],
    dependencies=PROTECTED,
    responses=error_responses(401, 404, 413, 422, 503),
    route_class=JSONBodyRoute,
)


class ObservationIn(TypedDict):
    """One row. A TypedDict, not a model: validating 50,000 rows into dicts takes a third of
    the time instances do, and a post's rows are only read once."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    series_id: SeriesId
    period: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_PERIOD,
            description='Its ISO label in the calendar of the model: "2019-10", "2019-Q4".',
        ),
    ]
    value: Annotated[float, Field(allow_inf_nan=False)]


class ObservationsRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"observations": [{"series_id": "milk", "period": "1976-01", "value": 840}]}
            ]
        },
    )

    observations: list[ObservationIn] = Field(min_length=1, max_length=MAX_OBSERVATIONS)


class ObservationsStored(BaseModel):
    model: str
    version: int = Field(
        description="The served version whose series the rows were checked against."
    )
    stored: int = Field(description="Rows stored (new, or replacing a value for the same period).")


@router.post(
    "/{name}/observations",
    summary="Store actuals for the model's series (an upsert; all rows or none)",
)
def post_observations(
    name: str, body: ObservationsRequest, registry: RegistryDep, ledger: LedgerDep
) -> ObservationsStored:
    forecaster = served_forecaster(name, registry)
    table = table_of(forecaster)
    frequency = forecaster.manifest.data.frequency
    rows: list[Observation] = []
    errors: list[FieldError] = []
    periods: dict[str, tuple[int, str]] = {}  # label -> (number, ISO label)
    starts: dict[str, int] = {}  # first period label -> number
    hinted = False
    for i, row in enumerate(body.observations):
        where = f"observations[{i}]"
        sid, label = row["series_id"], row["period"]
        found = table.index.get(sid)
        if found is None:
            # The nearest ids of the first unknown one only: each search reads every id.
            nearest = "" if hinted else ", ".join(map(repr, table.nearest(sid)))
            hinted = True
            hint = f"; nearest: {nearest}" if nearest else ""
            errors.append(
                FieldError(
                    field=f"{where}.series_id",
                    message=f"model {name!r} knows no series {sid!r}{hint}",
                )
            )
            continue
        period = periods.get(label)
        if period is None:  # a batch names few periods: each is parsed once
            try:
                number = period_number(label, frequency)
            except ValueError as exc:
                errors.append(FieldError(field=f"{where}.period", message=str(exc)))
                continue
            period = periods[label] = (number, period_label(number, frequency))
        first = table.columns.first_period[found]
        start = starts.get(first)
        if start is None:
            start = starts[first] = period_number(first, frequency)
        if period[0] < start:
            errors.append(
                FieldError(
                    field=f"{where}.period",
                    message=f"{label} is before {sid!r} begins ({first})",
                )
            )
            continue
        rows.append(Observation(sid, period[1], row["value"]))
    if errors:
        head, more = errors[0], f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        message = f"{head.field}: {head.message}{more}; nothing was stored"
        raise InvalidInput(message, errors[:MAX_ERRORS])
    ingest = ledger.available().record(forecaster.name, rows)
    ledger.observed(forecaster.name, rows, ingest)
    return ObservationsStored(model=forecaster.name, version=forecaster.version, stored=len(rows))
