"""The series a model knows: a searchable page of them, and one with its history and scores.

A model trained on a long-format file forecasts its series by id; clients (and the
page at `/`) find the ids here, with each series' calendar and its test accuracy
against the seasonal naive, paged so a catalog of 100,000 answers in one small body.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.contract.calendar import ending_at, following
from app.contract.series import SeriesTable
from app.errors import InvalidInput, SeriesNotFound
from app.forecaster import Forecaster
from app.http.auth import PROTECTED
from app.http.deps import DataPlaneDep, RegistryDep
from app.http.responses import error_responses
from app.request_context import note_served

router = APIRouter(
    prefix="/v1/models",
    tags=["models"],
    dependencies=PROTECTED,
    responses=error_responses(401, 404, 422, 503),
)

PAGE_LIMIT = 1_000


class TestScores(BaseModel):
    """The series' one-step test accuracy, from the evaluation fit (null: no test points)."""

    points: int
    rmse: float | None
    mae: float | None
    mase: float | None = Field(description="MAE over the training part's seasonal-naive MAE.")
    seasonal_naive_rmse: float | None
    seasonal_naive_mase: float | None
    pipeline_alone_rmse: float | None = Field(
        description="The version's pipeline without its network (null: none for this model)."
    )
    coverage: dict[str, float | None] = Field(description="One-step coverage by level (0 to 1).")


class SeriesSummary(BaseModel):
    series_id: str
    first_period: str
    last_period: str = Field(description="Its stored history ends here; forecasts follow it.")
    train_last_period: str = Field(description="The last period the scoring fit saw.")
    points: int
    network_weight: float = Field(
        description="Its share of the network's correction (0: the pipeline alone)."
    )
    test: TestScores


class SeriesPage(BaseModel):
    model: str
    version: int
    total: int = Field(description="Series matching the search (all of them without one).")
    offset: int
    series: list[SeriesSummary]


class SeriesDetail(SeriesSummary):
    model: str
    version: int
    periods: list[str] = Field(description="The periods of `history`.")
    history: list[float] = Field(
        description="The latest values a forecast by id starts from: the version's stored"
        " history, then the actuals posted since (`posted` of them, from the ledger)."
    )
    posted: int = Field(
        description="Actuals posted since `last_period` that end `history` (0 without any)."
    )
    next_period: str = Field(description="The first period a forecast by id is for.")


@router.get("/{name}/series", summary="The series a model knows, paged and searchable")
def list_series(
    name: str,
    registry: RegistryDep,
    search: Annotated[str, Query(max_length=200, description="Part of an id, any case.")] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT)] = 100,
) -> SeriesPage:
    forecaster = served_forecaster(name, registry)
    table = table_of(forecaster)
    wanted = search.casefold()
    rows = [i for i, sid in enumerate(table.ids) if wanted in sid.casefold()] if wanted else None
    total = len(table) if rows is None else len(rows)
    page = range(offset, min(offset + limit, total))
    chosen = list(page) if rows is None else [rows[i] for i in page]
    return SeriesPage(
        model=forecaster.name,
        version=forecaster.version,
        total=total,
        offset=offset,
        series=[_summary(table, i) for i in chosen],
    )


@router.get(
    "/{name}/series/{series_id:path}", summary="One series: its history, calendar, accuracy"
)
def describe_series(
    name: str, series_id: str, registry: RegistryDep, plane: DataPlaneDep
) -> SeriesDetail:
    forecaster = served_forecaster(name, registry)
    table = table_of(forecaster)
    row = table.index.get(series_id)
    if row is None:
        nearest = table.nearest(series_id)
        raise SeriesNotFound.named("series_id", series_id, forecaster.name, nearest)
    history = table.histories[row]
    summary = _summary(table, row)
    frequency = forecaster.manifest.data.frequency
    recent = (
        []
        if plane.actuals is None
        else plane.actuals.since(forecaster.name, series_id, summary.last_period, frequency)
    )
    values = history[~np.isnan(history)].tolist() + recent  # without the NaN padding
    end = following(summary.last_period, frequency, len(recent))[-1] if recent else None
    end = end or summary.last_period
    return SeriesDetail(
        **summary.model_dump(),
        model=forecaster.name,
        version=forecaster.version,
        periods=ending_at(end, frequency, len(values)),
        history=values,
        posted=len(recent),
        next_period=following(end, frequency, 1)[0],
    )


def served_forecaster(name: str, registry: RegistryDep) -> Forecaster:
    """The served version of `name`, noted for the access log."""
    served = registry.served(name)
    note_served(name, served.version)
    return served.forecaster


def table_of(forecaster: Forecaster) -> SeriesTable:
    """The version's series; 422 for a version trained before versions kept them."""
    if forecaster.series is None:
        raise InvalidInput(
            f"model {forecaster.name!r} version {forecaster.version} was trained before"
            " versions kept their series; retrain it to forecast by id"
        )
    return forecaster.series


def _summary(table: SeriesTable, row: int) -> SeriesSummary:
    c, t = table.columns, table.columns.test
    return SeriesSummary(
        series_id=c.ids[row],
        first_period=c.first_period[row],
        last_period=c.last_period[row],
        train_last_period=c.train_last_period[row],
        points=c.points[row],
        network_weight=1.0 if table.weight is None else float(table.weight[row]),
        test=TestScores(
            points=t.points[row],
            rmse=t.rmse[row],
            mae=t.mae[row],
            mase=t.mase[row],
            seasonal_naive_rmse=t.seasonal_naive_rmse[row],
            seasonal_naive_mase=t.seasonal_naive_mase[row],
            pipeline_alone_rmse=None
            if t.pipeline_alone_rmse is None
            else t.pipeline_alone_rmse[row],
            coverage={level: found[row] for level, found in t.coverage.items()},
        ),
    )
