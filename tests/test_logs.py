"""Structured logs: one JSON line per request with the route template, model, version and
request id; no posted values unless asked for; probes only at DEBUG; loads logged with reasons."""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from modelkit import clone_version, synthetic_series

from app.http.deps import get_dataplane
from app.logs import JsonFormatter, log_config
from app.main import create_app
from app.settings import Settings

SECRET = 612.345678  # a posted value that must never reach the log unless asked for
SERIES = [float(v) for v in synthetic_series(24)] + [SECRET]


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Every JSON line written to stdout so far; fails on a line that is not JSON."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def access(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [line for line in lines(capsys) if line["logger"] == "app.access"]


@pytest.fixture
def serve(models_dir: Path) -> Iterator[Any]:
    """Build a client with extra settings; closes it at the end of the test."""
    opened: list[TestClient] = []

    def build(**changes: Any) -> TestClient:
        settings = Settings(model_dir=models_dir, default_model="toy", **changes)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        opened.append(client.__enter__())
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)


def test_one_json_line_per_request_with_route_model_and_version(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = serve()
    lines(capsys)  # drop the startup lines
    response = client.post("/v1/models/toy/predict", json={"values": SERIES})
    (line,) = access(capsys)
    assert line["level"] == "info" and line["time"].endswith("+00:00")
    assert line["method"] == "POST" and line["status"] == 200
    assert line["route"] == "/v1/models/{name}/predict" and line["path"] == "/v1/models/toy/predict"
    assert (line["model"], line["version"]) == ("toy", 1)
    assert line["latency_ms"] > 0
    assert line["request_id"] == response.headers["x-request-id"]


def test_the_default_model_and_unknown_models_are_named(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = serve()
    lines(capsys)
    client.post("/v1/predict", json={"values": SERIES})
    client.get("/v1/models/absent")
    default, absent = access(capsys)
    assert (default["model"], default["version"]) == ("toy", 1)
    assert (absent["model"], absent["version"], absent["status"]) == ("absent", None, 404)


def test_a_sane_request_id_is_echoed_and_others_are_replaced(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = serve()
    lines(capsys)
    sent = ["trace-42:abc/DEF+=_.", "x" * 129, "bad id\x7f", "semi;colon"]
    answers = [client.get("/v1/models", headers={"X-Request-ID": s}) for s in sent]
    answers.append(client.get("/v1/models"))
    ids = [a.headers["x-request-id"] for a in answers]
    assert ids[0] == sent[0]
    assert all(len(i) == 32 and i.isalnum() and i not in sent for i in ids[1:])
    assert len(set(ids)) == len(ids)
    assert [line["request_id"] for line in access(capsys)] == ids


def test_posted_values_are_never_logged_by_default(
    serve: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    client = serve()
    client.post("/v1/models/toy/predict", json={"values": SERIES})
    client.post("/v1/models/toy/predict", json={"values": SERIES[:1]})  # a 422 quoting fields
    client.post("/v2/models/toy/infer", json={"inputs": []})
    out = capsys.readouterr().out
    assert str(SECRET) not in out and str(SECRET) not in caplog.text
    assert "payload" not in out


def test_payloads_are_logged_when_enabled(serve: Any, capsys: pytest.CaptureFixture[str]) -> None:
    client = serve(log_payloads=True)
    lines(capsys)
    client.post("/v1/models/toy/predict", json={"values": SERIES})
    client.post("/v1/models/toy/predict", json={"values": SERIES * 100})
    small, large = access(capsys)
    assert json.loads(small["payload"])["values"][-1] == SECRET
    assert not small["payload_truncated"]
    assert large["payload_truncated"] and len(large["payload"]) == 4096


def test_probes_are_logged_only_at_debug(serve: Any, capsys: pytest.CaptureFixture[str]) -> None:
    client = serve()
    lines(capsys)
    for path in ("/health", "/ready", "/metrics"):
        client.get(path)
    assert access(capsys) == []
    client = serve(log_level="DEBUG")
    lines(capsys)
    for path in ("/health", "/ready", "/metrics"):
        client.get(path)
    assert [(line["route"], line["level"]) for line in access(capsys)] == [
        ("/health", "debug"),
        ("/ready", "debug"),
        ("/metrics", "debug"),
    ]


def test_a_crash_is_logged_at_error_with_its_request_id(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = serve()

    def broken() -> None:
        raise RuntimeError("boom")

    client.app.dependency_overrides[get_dataplane] = broken  # type: ignore[attr-defined]
    lines(capsys)
    response = client.post("/v1/predict", json={"values": SERIES}, headers={"X-Request-ID": "r-1"})
    assert response.status_code == 500
    (line,) = access(capsys)
    assert (line["level"], line["status"], line["request_id"]) == ("error", 500, "r-1")


def test_model_loads_and_refusals_are_logged_with_reasons(
    models_dir: Path, serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    (clone_version(models_dir / "toy", 1, 2) / "scaler.joblib").write_bytes(b"tampered")
    serve()
    logged = lines(capsys)
    refused = [line for line in logged if line["level"] == "warning" and line.get("version") == 2]
    assert refused and refused[0]["model"] == "toy" and "sha256" in refused[0]["reason"]
    loaded = {(line.get("model"), line.get("version")) for line in logged}
    assert ("toy", 1) in loaded and ("toy-diff", 1) in loaded


def test_the_formatter_keeps_extras_and_tracebacks() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.LogRecord("app.x", logging.ERROR, __file__, 1, "hi %s", ("you",), None)
        record.exc_info = sys.exc_info()
    record.model = "toy"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hi you" and entry["model"] == "toy" and entry["level"] == "error"
    assert "ValueError: bad" in entry["exc"]


def test_the_uvicorn_log_config_is_valid_and_silences_the_access_log() -> None:
    config = log_config("info")
    logging.config.dictConfig(config)
    try:
        assert logging.getLogger("uvicorn.access").handlers == []
        formatter = logging.getLogger("uvicorn").handlers[0].formatter
        assert isinstance(formatter, JsonFormatter)
    finally:
        for name in ("uvicorn", "uvicorn.access"):
            logging.getLogger(name).handlers.clear()
