"""Live accuracy: every forecast served for a known series, scored against its actual.

`GET /v1/models/{name}/accuracy` answers per version (newest first) and step, over all
series or one (`series_id`), from forecasts whose period is `since` or later: the
recorded forecasts, how many have met their actual, and the scores they earned (the
training scores' meaning, `app.ledger.accuracy`), beside the served version's scores on
its test part at training time; and the anomalies, actuals outside their 95 % band.
Before answering, this worker writes the forecasts it has queued and scores the actuals
that arrived, so an answer includes everything acknowledged before it was asked for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.contract.calendar import period_label, period_number
from app.contract.series import SeriesId
from app.errors import InvalidInput, SeriesNotFound
from app.forecaster import Forecaster
from app.http.auth import PROTECTED
from app.http.deps import LedgerDep, RegistryDep
from app.http.responses import error_responses
from app.ledger.accuracy import LiveStep, live_versions
from app.ledger.service import publish
from app.ledger.tables import LEVELS, MAX_PERIOD
from app.v1.series import served_forecaster, table_of

ANOMALIES = 100  # listed per answer, newest first; `total` counts them all

router = APIRouter(
    prefix="/v1/models",
    tags=["models"],
    dependencies=PROTECTED,
    responses=error_responses(401, 404, 422, 503),
)


class Scores(BaseModel):
    n: int = Field(description="Forecasts scored (their actual has arrived).")
    rmse: float | None
    mae: float | None
    mase: float | None = Field(
        description="Mean of each error over its series' training seasonal-naive MAE."
    )
    coverage: dict[str, float | None] = Field(description="Share inside the band, by level.")
    winkler: dict[str, float | None] = Field(description="Mean Winkler score, series units.")


class StepAccuracy(Scores):
    step: int = Field(description="Periods ahead of the forecast's origin.")
    recorded: int = Field(description="Forecasts recorded, scored or not yet.")


class VersionAccuracy(BaseModel):
    version: int
    served: bool = Field(description="Whether this is the version served now.")
    live_since: datetime = Field(description="When its first recorded forecast was served.")
    training: Scores | None = Field(
        description="The version's one-step scores on its test part at training time (for"
        " `series_id`, that series'); null for versions no longer served."
    )
    steps: list[StepAccuracy]


class Anomaly(BaseModel):
    series_id: str
    period: str
    version: int
    step: int
    forecast: float
    actual: float
    lower: float = Field(description="The 95 % band served.")
    upper: float


class Anomalies(BaseModel):
    total: int = Field(description="Actuals outside their 95 % band.")
    listed: list[Anomaly] = Field(description=f"The latest {ANOMALIES}, newest period first.")


class Accuracy(BaseModel):
    model: str
    series_id: str | None
    since: str | None
    pending: int = Field(
        description="Forecast values recorded but not counted here yet: written packed, they"
        " are counted once the background pass expands them (as soon as actuals arrive)."
    )
    versions: list[VersionAccuracy]
    anomalies: Anomalies


@router.get("/{name}/accuracy", summary="Live accuracy of the forecasts served, per version")
def accuracy(
    name: str,
    registry: RegistryDep,
    ledger: LedgerDep,
    series_id: Annotated[SeriesId | None, Query(description="One series only.")] = None,
    since: Annotated[
        str | None,
        Query(max_length=MAX_PERIOD, description='Forecasts for this period on: "2019-01".'),
    ] = None,
) -> Accuracy:
    forecaster = served_forecaster(name, registry)
    row = None
    if series_id is not None:
        table = table_of(forecaster)
        row = table.index.get(series_id)
        if row is None:
            raise SeriesNotFound.named(
                "series_id", series_id, forecaster.name, table.nearest(series_id)
            )
    if since is not None:
        frequency = forecaster.manifest.data.frequency
        try:
            since = period_label(period_number(since, frequency), frequency)
        except ValueError as exc:
            raise InvalidInput.at("since", str(exc)) from None
    store = ledger.catch_up(forecaster.name)
    versions = live_versions(store.step_sums(forecaster.name, series_id, since))
    if series_id is None and since is None:
        publish(forecaster.name, versions)  # the gauges, as fresh as this answer
    total, listed = store.anomalies(forecaster.name, series_id, since, ANOMALIES)
    return Accuracy(
        model=forecaster.name,
        series_id=series_id,
        since=since,
        pending=store.packed_values(forecaster.name),
        versions=[
            VersionAccuracy(
                version=v.version,
                served=v.version == forecaster.version,
                live_since=v.live_since,
                training=_training(forecaster, row) if v.version == forecaster.version else None,
                steps=[_step(step) for step in v.steps],
            )
            for v in versions
        ],
        anomalies=Anomalies(
            total=total,
            listed=[Anomaly(**vars(anomaly)) for anomaly in listed],
        ),
    )


def _step(step: LiveStep) -> StepAccuracy:
    return StepAccuracy(**vars(step))


def _training(forecaster: Forecaster, row: int | None) -> Scores:
    """The served version's one-step test scores: the model's, or one series'."""
    metrics = forecaster.manifest.metrics
    if row is None:
        test, bands = metrics.test, {b.level: b for b in metrics.intervals}
        return Scores(
            n=test.n,
            rmse=test.rmse,
            mae=test.mae,
            mase=test.mase,
            coverage={str(lv): bands[lv].coverage if lv in bands else None for lv in LEVELS},
            winkler={str(lv): bands[lv].winkler if lv in bands else None for lv in LEVELS},
        )
    table = table_of(forecaster)
    t = table.columns.test
    return Scores(
        n=t.points[row],
        rmse=t.rmse[row],
        mae=t.mae[row],
        mase=t.mase[row],
        coverage={str(lv): t.coverage.get(str(lv), [None] * len(table))[row] for lv in LEVELS},
        winkler={str(lv): None for lv in LEVELS},
    )
