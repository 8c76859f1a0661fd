"""The body-size guard refuses large bodies whether or not they declare their length."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

JSON = {"content-type": "application/json"}


def small_limit_client(settings: Settings, limit: int) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"max_body_bytes": limit})))


def chunks(total: int, size: int = 100) -> Iterator[bytes]:
    """A JSON body streamed without Content-Length, `total` bytes in all."""
    body = b'{"values": [' + b"600.0," * ((total - 14) // 6) + b"600]}"
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_declared_length_over_the_limit_is_refused_unread(settings: Settings) -> None:
    with small_limit_client(settings, 200) as client:
        response = client.post(
            "/v1/predict", content=b'{"values": [' + b"1," * 200 + b"1]}", headers=JSON
        )
    assert response.status_code == 413
    assert response.json() == {
        "error": "request body larger than 200 bytes",
        "type": "payload_too_large",
    }


def test_a_streamed_body_is_counted_and_refused_past_the_limit(settings: Settings) -> None:
    with small_limit_client(settings, 1000) as client:
        response = client.post("/v1/predict", content=chunks(5000), headers=JSON)
    assert response.status_code == 413 and response.json()["type"] == "payload_too_large"


def test_a_streamed_body_within_the_limit_is_served(settings: Settings) -> None:
    with small_limit_client(settings, 1000) as client:
        response = client.post("/v1/predict", content=chunks(900), headers=JSON)
    assert response.status_code == 200, response.text


def test_a_body_of_exactly_the_limit_is_served(settings: Settings) -> None:
    body = b'{"values": [600, 601, 602]}'
    with small_limit_client(settings, len(body)) as client:
        assert client.post("/v1/predict", content=body, headers=JSON).status_code == 200
