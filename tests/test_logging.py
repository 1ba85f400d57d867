import json
import logging

import httpx
import pytest

from backend.ops.logging import JsonFormatter


async def test_access_log_lines_are_json_with_the_request_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="doorstep.access"):
        await client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    records = [r for r in caplog.records if r.name == "doorstep.access"]
    assert records
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["message"] == "request"
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert line["route"] == "/healthz"
    assert line["request_id"] == "trace-42"
    assert line["ts"].endswith("Z")
    assert records[-1].__dict__.get("duration_ms") is not None


def test_formatter_includes_request_id_from_context() -> None:
    from backend.ops.logging import request_id_var

    token = request_id_var.set("abc")
    try:
        record = logging.getLogger("t").makeRecord(
            "t", logging.INFO, "f", 1, "hello %s", ("世界",), None
        )
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line == {**line, "message": "hello 世界", "request_id": "abc", "level": "info"}
    assert "request_id" not in json.loads(JsonFormatter().format(logging.makeLogRecord({})))
