"""What the V2 route tests share: the toy series, a request's rows, JSON infer bodies and
hand-built binary ones, and readers of answers."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from apikit import SERIES
from fastapi.testclient import TestClient
from tritonclient.utils import deserialize_bytes_tensor

ROWS = [SERIES[:40], SERIES[1:41]]
INFER = "/v2/models/toy-diff/infer"


def tensor(data: Any, shape: list[int], datatype: str = "FP64", **fields: Any) -> dict[str, Any]:
    return {"name": "values", "shape": shape, "datatype": datatype, "data": data, **fields}


def body(rows: list[list[Any]] = ROWS, horizon: Any = None, **fields: Any) -> dict[str, Any]:
    """An infer body for `rows`, flat, with `horizon` in the request's parameters if given."""
    flat = [value for row in rows for value in row]
    request: dict[str, Any] = {"inputs": [tensor(flat, [len(rows), len(rows[0])])], **fields}
    if horizon is not None:
        request["parameters"] = {"horizon": horizon}
    return request


HEADER = "Inference-Header-Content-Length"
RAW = np.asarray(ROWS)


def frame(header: dict[str, Any], *tails: bytes) -> tuple[bytes, dict[str, str]]:
    """A binary-framed body: the JSON header, then `tails`; and the header saying its length."""
    text = json.dumps(header).encode()
    return text + b"".join(tails), {HEADER: str(len(text))}


def binary_tensor(
    rows: np.ndarray, datatype: str = "FP64", size: Any = None, **parameters: Any
) -> dict[str, Any]:
    """The JSON half of a binary input: no `data`, its size in `binary_data_size`."""
    nbytes = rows.nbytes if size is None else size
    return {
        "name": "values",
        "shape": list(rows.shape),
        "datatype": datatype,
        "parameters": {"binary_data_size": nbytes, **parameters},
    }


def post_binary(
    client: TestClient,
    rows: np.ndarray = RAW,
    datatype: str = "FP64",
    dtype: str = "<f8",
    path: str = INFER,
    **fields: Any,
) -> Any:
    """POST `rows` as one binary input of `datatype` (bytes as `dtype`), with `fields` beside."""
    typed = rows.astype(dtype)
    content, headers = frame(
        {"inputs": [binary_tensor(typed, datatype)], **fields}, typed.tobytes()
    )
    return client.post(path, content=content, headers=headers)


def v2_error(response: Any, status: int) -> str:
    """The message of a protocol error: status as given, body exactly `{"error": "..."}`."""
    assert response.status_code == status, response.text
    error = response.json()
    assert list(error) == ["error"] and isinstance(error["error"], str) and error["error"]
    message: str = error["error"]
    return message


def forecasts(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.text
    return tensors(response)["forecast"]


def tensors(response: Any) -> dict[str, np.ndarray]:
    """Every output tensor of a V2 answer, by name, in its shape: JSON or binary-framed;
    `periods` (BYTES) as an object array, of str from JSON and of bytes from binary."""
    length = response.headers.get("inference-header-content-length")
    if length is None:
        header, tail = response.json(), b""
    else:
        assert response.headers["content-type"] == "application/octet-stream"
        header, tail = json.loads(response.content[: int(length)]), response.content[int(length) :]
    found, offset = {}, 0
    for output in header["outputs"]:
        strings = output["name"] == "periods"
        assert output["datatype"] == ("BYTES" if strings else "FP64")
        size = (output.get("parameters") or {}).get("binary_data_size")
        if size is None:
            data = np.asarray(output["data"], dtype=object if strings else np.float64)
            found[output["name"]] = data.reshape(output["shape"])
        else:
            assert "data" not in output
            raw = tail[offset : offset + size]
            # BYTES as tritonclient reads them: (4-byte length, UTF-8 bytes) per element.
            data = deserialize_bytes_tensor(raw) if strings else np.frombuffer(raw, "<f8")
            found[output["name"]] = data.reshape(output["shape"])
            offset += size
    assert offset == len(tail), "every byte after the JSON belongs to an output"
    return found


def v1_batch(client: TestClient, rows: list[list[float]], horizon: int = 1) -> np.ndarray:
    answer = client.post(
        "/v1/models/toy-diff/predict/batch", json={"series": rows, "horizon": horizon}
    )
    return np.asarray(answer.json()["forecasts"])
