"""The Open Inference Protocol's series by id, in process, on the session's `catalog` model
(four monthly series through 2007-12, "early-end" through 2007-06): a `series_id` BYTES
input is forecast from the stored histories, equal to v1's batch by ids, with a `periods`
output; unknown ids are the protocol's 404 naming the nearest; the metadata lists both.
tritonclient against a live server is in test_routes_tritonclient_series.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from v2kit import frame, tensors, v2_error

from app.main import create_app
from app.settings import Settings
from app.v2.bytes_data import to_bytes

pytest.importorskip("keras")  # the catalog model is trained here

INFER = "/v2/models/catalog/infer"
IDS = ["small", "early-end", "large"]


@pytest.fixture(scope="module")
def client(catalog_models: Path) -> Iterator[TestClient]:
    settings = Settings(model_dir=catalog_models, default_model="catalog")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def ids_body(ids: list[str] = IDS, **fields: Any) -> dict[str, Any]:
    tensor = {"name": "series_id", "shape": [len(ids)], "datatype": "BYTES", "data": ids}
    return {"inputs": [tensor], **fields}


def v1_by_ids(client: TestClient, ids: list[str], **fields: Any) -> dict[str, Any]:
    answer = client.post("/v1/models/catalog/predict/batch", json={"series_ids": ids, **fields})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_series_by_id_equal_v1s_batch_by_ids_with_their_periods(client: TestClient) -> None:
    response = client.post(INFER, json=ids_body(parameters={"horizon": 2}, id="by-id"))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "by-id" and response.json()["model_version"] == "1"
    found = tensors(response)
    v1 = v1_by_ids(client, IDS, horizon=2)
    np.testing.assert_array_equal(found["forecast"], v1["forecasts"])
    for band in v1["intervals"]:
        np.testing.assert_array_equal(found[f"lower_{band['level']:g}"], band["lower"])
        np.testing.assert_array_equal(found[f"upper_{band['level']:g}"], band["upper"])
    assert found["periods"].tolist() == v1["periods"]
    assert v1["periods"][1] == ["2007-07", "2007-08"]  # early-end's own calendar


def test_binary_ids_in_and_binary_outputs_out_equal_json(client: TestClient) -> None:
    tensor: dict[str, Any] = {"name": "series_id", "shape": [3], "datatype": "BYTES"}
    raw = to_bytes(IDS)
    tensor["parameters"] = {"binary_data_size": len(raw)}
    header = {"inputs": [tensor], "parameters": {"horizon": 3, "binary_data_output": True}}
    content, headers = frame(header, raw)
    response = client.post(INFER, content=content, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    binary = tensors(response)
    as_json = tensors(client.post(INFER, json=ids_body(parameters={"horizon": 3})))
    assert set(binary) == set(as_json)
    for name, array in as_json.items():
        if name == "periods":
            assert [[p.decode() for p in row] for row in binary[name]] == array.tolist()
        else:
            np.testing.assert_array_equal(binary[name], array)


def test_unknown_ids_are_the_protocols_404_naming_them_and_the_nearest(
    client: TestClient,
) -> None:
    message = v2_error(client.post(INFER, json=ids_body(["small", "larg"])), 404)
    assert message.startswith("series_id[1]: model 'catalog' knows no series 'larg'; nearest:")
    assert "'large'" in message
    alone = v2_error(client.post(INFER, json=ids_body(["erly-end"])), 404)
    assert alone.startswith("series_id: model 'catalog' knows no series 'erly-end'")


def test_values_and_series_id_together_are_400(client: TestClient) -> None:
    both = ids_body()
    both["inputs"].append(
        {"name": "values", "shape": [1, 3], "datatype": "FP64", "data": [1.0, 2.0, 3.0]}
    )
    assert "not both" in v2_error(client.post(INFER, json=both), 400)


def test_a_bad_id_is_400_naming_its_element(client: TestClient) -> None:
    assert "series_id[1]: " in v2_error(client.post(INFER, json=ids_body(["small", ""])), 400)


def test_the_metadata_lists_series_id_and_periods_for_a_model_with_series(
    client: TestClient,
) -> None:
    metadata = client.get("/v2/models/catalog").json()
    assert metadata["inputs"] == [
        {"name": "values", "datatype": "FP64", "shape": [-1, -1]},
        {"name": "series_id", "datatype": "BYTES", "shape": [-1]},
    ]
    assert metadata["outputs"][-1] == {"name": "periods", "datatype": "BYTES", "shape": [-1, -1]}


def test_a_model_without_series_refuses_ids_with_400(toy_models: Path) -> None:
    with TestClient(create_app(Settings(model_dir=toy_models, default_model="toy"))) as c:
        message = v2_error(c.post("/v2/models/toy/infer", json=ids_body(["a"])), 400)
        assert "series_id: model 'toy' version 1 knows no series by id" in message
        names = [t["name"] for t in c.get("/v2/models/toy").json()["inputs"]]
        assert names == ["values"]
