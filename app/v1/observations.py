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

from app.contract.calendar import period_label, period_number
from app.contract.series import SeriesId
from app.errors import FieldError, InvalidInput
from app.http.auth import PROTECTED
from app.http.deps import LedgerDep, RegistryDep
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
)


class ObservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    series_id: SeriesId
    period: Annotated[str, Field(min_length=1, max_length=MAX_PERIOD)] = Field(
        description='Its ISO label in the calendar of the model: "2019-10", "2019-Q4", "2019".'
    )
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
        found = table.index.get(row.series_id)
        if found is None:
            # The nearest ids of the first unknown one only: each search reads every id.
            nearest = "" if hinted else ", ".join(map(repr, table.nearest(row.series_id)))
            hinted = True
            hint = f"; nearest: {nearest}" if nearest else ""
            errors.append(
                FieldError(
                    field=f"{where}.series_id",
                    message=f"model {name!r} knows no series {row.series_id!r}{hint}",
                )
            )
            continue
        period = periods.get(row.period)
        if period is None:  # a batch names few periods: each is parsed once
            try:
                number = period_number(row.period, frequency)
            except ValueError as exc:
                errors.append(FieldError(field=f"{where}.period", message=str(exc)))
                continue
            period = periods[row.period] = (number, period_label(number, frequency))
        first = table.columns.first_period[found]
        start = starts.get(first)
        if start is None:
            start = starts[first] = period_number(first, frequency)
        if period[0] < start:
            errors.append(
                FieldError(
                    field=f"{where}.period",
                    message=f"{row.period} is before {row.series_id!r} begins ({first})",
                )
            )
            continue
        rows.append(Observation(row.series_id, period[1], row.value))
    if errors:
        head, more = errors[0], f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        message = f"{head.field}: {head.message}{more}; nothing was stored"
        raise InvalidInput(message, errors[:MAX_ERRORS])
    ingest = ledger.available().record(forecaster.name, rows)
    ledger.observed(forecaster.name, rows, ingest)
    return ObservationsStored(model=forecaster.name, version=forecaster.version, stored=len(rows))
