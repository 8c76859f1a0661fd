"""Concurrent one-series forecasts answered in one pass: each as it would be answered alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tskit
from liveserver import LiveServer
from modelkit import synthetic_series

from app import coalescing, metrics
from app.answers import Forecasts, Naming
from app.budget import Work
from app.dataplane import DataPlane
from app.errors import InvalidInput, ModelNotFound
from app.queries import SeriesQuery
from app.registry import Registry, version_loader
from app.settings import Settings
from app.watcher import ModelWatcher

SERIES = synthetic_series()
SMALL = Work(100, "a small request")
V2 = Naming("values[0]", "values[0]", "values[0]")  # row 0 of V2's `values` tensor


@pytest.fixture
def plane(toy_models: Path) -> DataPlane:
    registry = Registry(toy_models, version_loader(0.5))
    ModelWatcher(registry, 0).load_all()
    return DataPlane(registry, Settings(model_dir=toy_models, max_values=200, max_horizon=6))


ROUNDING = 1e-7
"""How far a row's forecast may move with its batch: BLAS sums a float32 product in another
order for another number of rows (a few 1e-8 of the network's output, far inside its 1e-4
parity with Keras), so a series alone and in a batch agree to rounding, not to the bit."""


def _same(answer: Forecasts, alone: Forecasts) -> None:
    """The answer the request gets on its own: values, bands, warnings, version."""
    assert (answer.model, answer.version, answer.horizon) == (alone.model, alone.version, 2)
    np.testing.assert_allclose(answer.values, alone.values, rtol=ROUNDING)
    assert [b.level for b in answer.intervals] == [b.level for b in alone.intervals]
    for band, own in zip(answer.intervals, alone.intervals, strict=True):
        np.testing.assert_allclose(band.lower, own.lower, rtol=ROUNDING)
        np.testing.assert_allclose(band.upper, own.upper, rtol=ROUNDING)
    assert answer.warnings == alone.warnings


Request = tuple[str, Any, int, list[float] | None]  # model, values, horizon, levels


def _gather(plane: DataPlane, *requests: Request) -> list[Any]:
    """Every request sent in the same turn of the event loop, as concurrent clients are read."""

    async def all_at_once() -> list[Any]:
        calls = [
            plane.coalescer.predict(n, v, h, levels, SMALL, Naming())
            for n, v, h, levels in requests
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    return asyncio.run(all_at_once())


def test_requests_of_one_turn_are_one_pass_and_each_gets_its_own_answer(
    plane: DataPlane,
) -> None:
    histories = [SERIES[: len(SERIES) - k] for k in range(6)] + [SERIES * 10]  # the last: a note
    passes = metrics.COALESCED._sum.get()
    answers = _gather(plane, *[("toy", h, 2, [80.0, 95.0]) for h in histories])
    assert metrics.COALESCED._sum.get() - passes == len(histories)
    for history, answer in zip(histories, answers, strict=True):
        _same(answer, plane.predict("toy", history, 2, [80.0, 95.0]))
    assert answers[-1].warnings and answers[-1].warnings[0].startswith("values: ")


def _arriving(plane: DataPlane, turns: list[int]) -> tuple[list[Any], list[float]]:
    """Requests reaching the coalescer `turns[i]` turns of the event loop after the first; their
    answers and the size of every pass that answered them."""

    async def late(turn: int) -> Any:
        for _ in range(turn):
            await asyncio.sleep(0)  # exactly one turn each
        return await plane.coalescer.predict("toy", SERIES, 2, None, SMALL, Naming())

    async def all_of_them() -> list[Any]:
        return await asyncio.gather(*[late(turn) for turn in turns])

    before = _passes_and_requests()
    answers = asyncio.run(all_of_them())
    after = _passes_and_requests()
    return answers, [after[0] - before[0], after[1] - before[1]]


def _passes_and_requests() -> tuple[float, float]:
    """Passes so far and the requests they answered, from `forecast_coalesced_requests`."""
    samples = {s.name: s.value for m in metrics.COALESCED.collect() for s in m.samples}
    return samples["forecast_coalesced_requests_count"], samples["forecast_coalesced_requests_sum"]


def test_requests_still_arriving_join_the_pass(plane: DataPlane) -> None:
    """Under load, requests are read a few per turn: while they keep coming, the pass waits."""
    answers, (passes, answered) = _arriving(plane, [0, 0, 1, 2, 3])
    assert (passes, answered) == (1, 5)
    for answer in answers:
        _same(answer, plane.predict("toy", SERIES, 2))


def test_a_request_alone_waits_for_no_one(plane: DataPlane) -> None:
    """Its pass runs in the turn after it arrives: batching costs a lone request nothing."""

    async def alone() -> float:
        passes = _passes_and_requests()[0]
        pending = asyncio.ensure_future(
            plane.coalescer.predict("toy", SERIES, 2, None, SMALL, Naming())
        )
        await asyncio.sleep(0)  # the request arrives and plans its pass
        await asyncio.sleep(0)  # the pass runs
        answered = _passes_and_requests()[0] - passes
        await pending
        return answered

    assert asyncio.run(alone()) == 1


def test_a_pass_waits_a_bounded_number_of_turns(plane: DataPlane) -> None:
    turns = list(range(4 * coalescing.MAX_TURNS))  # one new request every turn
    answers, (passes, answered) = _arriving(plane, turns)
    assert answered == len(turns) and all(isinstance(a, Forecasts) for a in answers)
    assert passes >= len(turns) / (coalescing.MAX_TURNS + 1)


def test_a_pass_waits_no_longer_once_it_holds_a_pass_of_work(
    plane: DataPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coalescing, "PASS_WORK", 2 * SMALL.units)
    _, (passes, answered) = _arriving(plane, [0, 0, 1, 2, 3, 4])
    assert answered == 6 and passes >= 3


def test_a_refused_request_does_not_refuse_the_others(plane: DataPlane) -> None:
    overflowing = np.full(17, 1.7e308)  # finite, but undoing the differencing overflows
    answers = _gather(
        plane,
        ("toy-diff", SERIES, 2, None),
        ("toy-diff", SERIES[:2], 2, None),  # too short
        ("toy-diff", overflowing, 2, None),
        ("toy-diff", SERIES[:-1], 2, None),
    )
    _same(answers[0], plane.predict("toy-diff", SERIES, 2))
    _same(answers[3], plane.predict("toy-diff", SERIES[:-1], 2))
    short, overflow = answers[1], answers[2]
    assert isinstance(short, InvalidInput) and "needs at least" in short.message
    assert isinstance(overflow, InvalidInput) and "overflowed" in overflow.message
    assert short.errors[0].field == overflow.errors[0].field == "values"


def test_each_request_names_its_values_as_its_protocol_does(plane: DataPlane) -> None:
    """V1 says `values`, V2 `values[0]`: requests of both share no pass, and each refusal
    or warning names the field its request sent."""

    async def both() -> list[Any]:
        calls = [
            plane.coalescer.predict("toy", SERIES[:2], 2, None, SMALL, Naming()),
            plane.coalescer.predict("toy", SERIES[:2], 2, None, SMALL, V2),
            plane.coalescer.predict("toy", SERIES * 10, 2, None, SMALL, V2),
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    v1, v2, noted = asyncio.run(both())
    assert isinstance(v1, InvalidInput) and v1.errors[0].field == "values"
    assert isinstance(v2, InvalidInput) and v2.errors[0].field == "values[0]"
    assert noted.warnings[-1].startswith("values[0]: ")


def test_series_with_a_start_get_the_periods_they_would_get_alone(plane: DataPlane) -> None:
    """A start (v1's `start`, KServe's `start_timestamp`) rides along: each answer carries its
    own periods, as `predict_queries` gives them, and a start that names no period refuses
    its own request only, naming the field as that request's protocol does."""
    kserve = Naming("inputs.values", "inputs.start", "inputs")

    async def together() -> list[Any]:
        coalescer = plane.coalescer
        calls = [
            coalescer.predict("toy", SERIES, 2, None, SMALL, Naming(), "2001-03"),
            coalescer.predict("toy", SERIES[:-1], 2, None, SMALL, Naming(), "2001-03"),
            coalescer.predict("toy", SERIES, 2, None, SMALL, Naming()),
            coalescer.predict("toy", SERIES, 2, None, SMALL, Naming(), "March"),
            coalescer.predict("toy", SERIES, 2, None, SMALL, kserve, "2001-03"),
            coalescer.predict("toy", SERIES, 2, None, SMALL, kserve, "2001-13"),
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    dated, later, undated, wrong, theirs, wrong_theirs = asyncio.run(together())
    for answer, (values, start) in [
        (dated, (SERIES, "2001-03")),
        (later, (SERIES[:-1], "2001-03")),
    ]:
        alone = plane.predict_queries("toy", [SeriesQuery(values=values, start=start)], 2)
        _same(answer, alone)
        assert answer.periods == alone.periods and answer.periods is not None
    assert dated.periods == theirs.periods and dated.periods != later.periods
    assert undated.periods is None
    assert isinstance(wrong, InvalidInput) and wrong.errors[0].field == "start"
    assert isinstance(wrong_theirs, InvalidInput) and wrong_theirs.errors[0].field == "inputs.start"


def test_models_horizons_and_levels_are_never_mixed(plane: DataPlane) -> None:
    requests = [("toy", SERIES, 2, None), ("toy", SERIES, 1, None), ("toy", SERIES, 2, [50.0])]
    requests += [("toy-diff", SERIES, 2, None)]
    answers = _gather(plane, *requests)
    for (name, values, horizon, levels), answer in zip(requests, answers, strict=True):
        alone = plane.predict(name, values, horizon, levels)
        assert answer.model == name and answer.values.shape == (1, horizon)
        np.testing.assert_allclose(answer.values, alone.values, rtol=ROUNDING)
        assert [b.level for b in answer.intervals] == [b.level for b in alone.intervals]


def test_a_refusal_for_the_whole_group_reaches_each_request(plane: DataPlane) -> None:
    answers = _gather(plane, ("absent", SERIES, 1, None), ("absent", SERIES, 1, None))
    assert all(isinstance(answer, ModelNotFound) for answer in answers)


def test_a_pass_holds_at_most_its_work_and_keeps_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coalescing, "PASS_WORK", 250)
    group = [coalescing._Waiting(k, None, SMALL, None) for k in range(5)]  # type: ignore[arg-type]
    passes = coalescing._passes(group)
    assert [[w.values for w in chunk] for chunk in passes] == [[0, 1], [2, 3], [4]]
    huge = [coalescing._Waiting(0, None, Work(10_000, "huge"), None)]  # type: ignore[arg-type]
    assert len(coalescing._passes(huge)) == 1  # alone, but never left out


def test_concurrent_clients_of_a_live_server_get_their_own_forecasts(server: LiveServer) -> None:
    """Real uvicorn, 16 clients at once, each posting its own series: every answer is the one
    that series gets alone, and the metrics show requests answered together."""
    histories = [[float(v) for v in SERIES[: len(SERIES) - k]] for k in range(16)]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        alone = [client.post("/v1/predict", json={"values": h, "horizon": 2}) for h in histories]

        async def all_at_once() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as concurrent:
                posts = [
                    concurrent.post("/v1/predict", json={"values": h, "horizon": 2})
                    for h in histories
                ]
                return await asyncio.gather(*posts)

        together: list[httpx.Response] = []
        for _ in range(5):  # a few rounds: at least one finds requests read in the same turn
            together = asyncio.run(all_at_once())
            for mine, own in zip(together, alone, strict=True):
                assert mine.status_code == own.status_code == 200
                np.testing.assert_allclose(
                    mine.json()["forecast"], own.json()["forecast"], ROUNDING
                )
                assert mine.json()["intervals"][0]["level"] == own.json()["intervals"][0]["level"]
            scrape = client.get("/metrics").text
            if _coalesced_passes(scrape) < _coalesced_requests(scrape):
                break
        assert _coalesced_passes(scrape) < _coalesced_requests(scrape), "never answered together"


def _metric(scrape: str, name: str) -> float:
    (line,) = [line for line in scrape.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


def _coalesced_passes(scrape: str) -> float:
    return _metric(scrape, "forecast_coalesced_requests_count")


def _coalesced_requests(scrape: str) -> float:
    return _metric(scrape, "forecast_coalesced_requests_sum")


def _answered_together(
    server: LiveServer,
    path: str,
    bodies: list[dict[str, Any]],
    alone: list[Any],
    check: Callable[[dict[str, Any], Any], None],
) -> None:
    """Post every body at once, a few rounds, until a pass answers several of them: every
    request goes through the coalescer, and `check` holds each answer to its answer alone."""

    async def all_at_once() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as concurrent:
            return await asyncio.gather(*[concurrent.post(path, json=b) for b in bodies])

    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(5):  # a few rounds: at least one finds requests read in the same turn
            before = client.get("/metrics").text
            together = asyncio.run(all_at_once())
            after = client.get("/metrics").text
            for mine, own in zip(together, alone, strict=True):
                assert mine.status_code == 200, mine.text
                check(mine.json(), own)
            requests = _coalesced_requests(after) - _coalesced_requests(before)
            passes = _coalesced_passes(after) - _coalesced_passes(before)
            assert requests == len(bodies)  # each went through the coalescer
            if passes < requests:
                return
    raise AssertionError("never answered together")


def test_concurrent_v2_infers_of_one_series_are_answered_together(server: LiveServer) -> None:
    """The Open Inference Protocol's infer of one posted series takes the same passes: each
    answer, bands included, is the one v1 gives that series alone."""
    histories = [[float(v) for v in SERIES[: len(SERIES) - k]] for k in range(16)]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        alone = [
            client.post("/v1/predict", json={"values": h, "horizon": 2}).json() for h in histories
        ]
    bodies = [
        {
            "inputs": [{"name": "values", "shape": [1, len(h)], "datatype": "FP64", "data": h}],
            "parameters": {"horizon": 2},
        }
        for h in histories
    ]

    def check(answer: dict[str, Any], own: Any) -> None:
        outputs = {o["name"]: o["data"] for o in answer["outputs"]}
        np.testing.assert_allclose(outputs["forecast"], own["forecast"], ROUNDING)
        for band in own["intervals"]:
            level = f"{band['level']:g}"
            np.testing.assert_allclose(outputs[f"lower_{level}"], band["lower"], ROUNDING)
            np.testing.assert_allclose(outputs[f"upper_{level}"], band["upper"], ROUNDING)

    _answered_together(server, "/v2/models/toy/infer", bodies, alone, check)


def test_concurrent_timeseries_forecasts_of_one_series_are_answered_together(
    server: LiveServer,
) -> None:
    """KServe's time-series forecast of one posted input takes the same passes: each answer,
    its quantiles and its start included, is the one that request gets alone."""
    histories = [[float(v) for v in SERIES[: len(SERIES) - k]] for k in range(16)]
    bodies = [
        tskit.body(tskit.series_input(series=h), horizon=2, quantiles=[0.1, 0.9]) for h in histories
    ]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        alone = [tskit.content(client.post(tskit.FORECAST, json=b)) for b in bodies]
    assert len({a["start_timestamp"] for a in alone}) == len(histories)  # each its own

    def check(answer: dict[str, Any], own: Any) -> None:
        tskit.kserve_response(answer)
        got = answer["outputs"][0]["content"][0]
        np.testing.assert_allclose(got["mean_forecast"], own["mean_forecast"], ROUNDING)
        for q, bound in own["quantiles"].items():
            np.testing.assert_allclose(got["quantiles"][q], bound, ROUNDING)
        same = ("start_timestamp", "frequency", "name", "warnings")
        assert {k: got[k] for k in same} == {k: own[k] for k in same}

    _answered_together(server, tskit.FORECAST, bodies, alone, check)
