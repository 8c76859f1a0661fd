"""Every exception leaves as one JSON shape with the right status; never a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.errors import (
    ArtifactError,
    InvalidInput,
    ModelNotFound,
    ModelNotReady,
    Overloaded,
    TrainingFailed,
    Unauthorized,
)
from app.http.exception_handlers import (
    field_path,
    install_error_handlers,
    status_of,
    validation_error,
)


class Body(BaseModel):
    values: list[float]


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    def echo(body: Body) -> Body:
        return body

    @app.get("/domain/{kind}")
    def domain(kind: str) -> None:
        raise {
            "invalid": InvalidInput.at("values[2]", "not a number"),
            "not-ready": ModelNotReady("model 'x' is not ready: no versions on disk"),
            "key": Unauthorized("invalid API key", challenge='Bearer error="invalid_token"'),
        }[kind]

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("loc", "path"),
    [(("body", "series", 2, 5), "series[2][5]"), (("body",), "body"), (("query", "h"), "query.h")],
)
def test_field_paths_read_like_json_paths(loc: tuple[int | str, ...], path: str) -> None:
    assert field_path(loc) == path


def test_validation_errors_list_every_field_and_quote_the_first() -> None:
    error = validation_error(
        [
            {"loc": ("body", "values", 0), "msg": "bad"},
            {"loc": ("body", "values", 1), "msg": "worse"},
        ]
    )
    assert error.message == "values[0]: bad (and 1 more)"
    assert [e.field for e in error.errors] == ["values[0]", "values[1]"]


@pytest.mark.parametrize(
    ("kind", "status", "type_", "header"),
    [
        ("invalid", 422, "invalid_input", None),
        ("not-ready", 503, "model_not_ready", None),
        ("key", 401, "unauthorized", 'Bearer error="invalid_token"'),
    ],
)
def test_domain_errors_render_their_status_type_and_headers(
    client: TestClient, kind: str, status: int, type_: str, header: str | None
) -> None:
    response = client.get(f"/domain/{kind}")
    assert response.status_code == status and response.json()["type"] == type_
    assert response.headers.get("www-authenticate") == header


def test_bad_json_and_bad_fields_are_422_naming_the_field(client: TestClient) -> None:
    broken = client.post(
        "/echo", content=b'{"values": [1,', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["errors"][0]["field"] == "body"
    wrong = client.post("/echo", json={"values": [1, "x"]})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "values[1]"
    binary = client.post("/echo", content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert binary.status_code == 422 and binary.json()["errors"][0]["field"] == "body"


def test_http_errors_keep_their_status_with_a_stable_type(client: TestClient) -> None:
    assert client.get("/nowhere").json()["type"] == "not_found"
    wrong_method = client.delete("/echo")
    assert wrong_method.status_code == 405 and wrong_method.json()["type"] == "method_not_allowed"


def test_anything_unexpected_is_a_generic_500_without_details(client: TestClient) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal error; the server log has the details",
        "type": "internal_error",
    }


def test_each_error_gets_its_status_from_the_one_table() -> None:
    assert status_of(ModelNotFound("no model named 'x'")) == 404  # through NotFound's row
    assert status_of(InvalidInput.at("values", "too short")) == 422
    assert status_of(Overloaded("busy")) == 503
    # Errors about artifacts or training never describe a request: the fault is ours.
    assert status_of(ArtifactError("bad hash")) == status_of(TrainingFailed("too short")) == 500
