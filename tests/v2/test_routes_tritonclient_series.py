"""Series by id through a real V2 client: tritonclient against a live server on the session's
`catalog` model, sending `series_id` as BYTES (binary by default, and JSON), its answers
equal to v1's batch by ids with their `periods`, and an unknown id the protocol's 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from liveserver import LiveServer, live_server
from tritonclient.utils import InferenceServerException

pytest.importorskip("keras")  # the catalog model is trained here

IDS = ["small", "early-end", "large"]


@pytest.fixture(scope="module")
def server(catalog_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"FORECAST_MODEL_DIR": str(catalog_models), "FORECAST_DEFAULT_MODEL": "catalog"}
    log = tmp_path_factory.mktemp("catalog-server") / "uvicorn.log"
    with live_server(env, log) as running:
        yield running


@pytest.fixture(scope="module")
def triton_client(server: LiveServer) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(server.url.removeprefix("http://"))


def ids_input(ids: list[str], binary: bool = True) -> triton.InferInput:
    tensor = triton.InferInput("series_id", [len(ids)], "BYTES")
    tensor.set_data_from_numpy(np.array(ids, dtype=np.object_), binary_data=binary)
    return tensor


def live_v1(server: LiveServer, ids: list[str], **fields: Any) -> dict[str, Any]:
    answer = httpx.post(
        f"{server.url}/v1/models/catalog/predict/batch", json={"series_ids": ids, **fields}
    )
    assert answer.status_code == 200, answer.text
    v1: dict[str, Any] = answer.json()
    return v1


def test_tritonclient_defaults_forecast_series_by_id_as_v1_does(
    triton_client: triton.InferenceServerClient, server: LiveServer
) -> None:
    """Binary BYTES in; no outputs named, so every output comes back binary, periods too."""
    result = triton_client.infer("catalog", [ids_input(IDS)], parameters={"horizon": 3})
    v1 = live_v1(server, IDS, horizon=3)
    np.testing.assert_array_equal(result.as_numpy("forecast"), v1["forecasts"])
    np.testing.assert_array_equal(result.as_numpy("lower_80"), v1["intervals"][0]["lower"])
    periods = result.as_numpy("periods")
    assert periods is not None and periods.shape == (3, 3)
    assert [[p.decode() for p in row] for row in periods] == v1["periods"]


def test_tritonclient_json_both_ways_gives_the_same(
    triton_client: triton.InferenceServerClient, server: LiveServer
) -> None:
    outputs = [triton.InferRequestedOutput(n, binary_data=False) for n in ("forecast", "periods")]
    result = triton_client.infer(
        "catalog", [ids_input(IDS, binary=False)], outputs=outputs, parameters={"horizon": 2}
    )
    assert all("data" in o for o in result.get_response()["outputs"])
    v1 = live_v1(server, IDS, horizon=2)
    np.testing.assert_array_equal(result.as_numpy("forecast"), v1["forecasts"])
    periods = result.as_numpy("periods")
    assert periods is not None and periods.tolist() == v1["periods"]


def test_tritonclient_gets_a_404_naming_an_unknown_id_and_the_nearest(
    triton_client: triton.InferenceServerClient,
) -> None:
    with pytest.raises(InferenceServerException) as raised:
        triton_client.infer("catalog", [ids_input(["small", "larg"])])
    assert raised.value.status() == "404"
    assert "series_id[1]: model 'catalog' knows no series 'larg'; nearest:" in (
        raised.value.message() or ""
    )


def test_tritonclient_reads_series_id_in_the_metadata(
    triton_client: triton.InferenceServerClient,
) -> None:
    metadata = triton_client.get_model_metadata("catalog")
    assert {"name": "series_id", "datatype": "BYTES", "shape": [-1]} in metadata["inputs"]
    assert metadata["outputs"][-1]["name"] == "periods"
