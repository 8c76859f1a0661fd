"""The request bodies' documented examples: every body has one, and the v1 ones are answered."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_openapi_has_an_example_for_every_request_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    bodies = [
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for methods in spec["paths"].values()
        for op in methods.values()
        if "requestBody" in op
    ]
    # v1: predict (twice), batch, evaluate, observations; V2: infer (twice); KServe TS
    assert len(bodies) == 8
    for name in set(bodies):
        assert spec["components"]["schemas"][name]["examples"], name


def test_the_documented_examples_are_answered(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for schema, path in (
        ("PredictRequest", "/v1/predict"),
        ("BatchPredictRequest", "/v1/models/toy-diff/predict/batch"),
        ("EvaluateRequest", "/v1/models/toy/evaluate"),
    ):
        response = client.post(path, json=schemas[schema]["examples"][0])
        assert response.status_code == 200, (schema, response.text)
