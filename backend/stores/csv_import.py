"""Reading a stores CSV (pure: no I/O).

Encoding: UTF-8 with or without a BOM; otherwise GB18030 (what Chinese Excel writes by default).
Columns (header row, case-insensitive, any order): ``code, name, address, lat, lng,
geofence_radius_m, customer_type, team``; ``address``, ``geofence_radius_m`` and ``team`` may be
left out. ``team`` is a team's name or id. Unknown columns are ignored.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first data row is row 2
(a quoted cell spanning several lines is still one row).
"""

import csv
import io
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from backend.stores.exceptions import InvalidImport
from backend.stores.schemas import ImportRowError, StoreCreate

MAX_ROWS = 20_000
REQUIRED = ("code", "name", "lat", "lng", "customer_type")
OPTIONAL = ("address", "geofence_radius_m", "team")
COLUMNS = REQUIRED + OPTIONAL


@dataclass(frozen=True)
class CsvRow:
    number: int  # spreadsheet row number (header = 1)
    cells: dict[str, str]  # known columns present in the header -> stripped text


@dataclass(frozen=True)
class ParsedCsv:
    columns: tuple[str, ...]
    rows: list[CsvRow]


def decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise InvalidImport(
            "The file is neither UTF-8 nor GB18030 text.",
            "save the file as CSV UTF-8",
            "invalid_encoding",
        ) from exc


def parse(content: bytes) -> ParsedCsv:
    text = decode(content)
    if "\x00" in text:
        raise InvalidImport("The file is not a CSV text file.", "contains NUL bytes")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidImport("The file is empty.", "no header row")
        names = [h.strip().lstrip("\ufeff").lower() for h in header]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise InvalidImport(
                f"The header row lacks the column(s): {', '.join(missing)}.",
                f"header must include {', '.join(REQUIRED)}",
                "missing_columns",
            )
        positions = {c: names.index(c) for c in COLUMNS if c in names}
        rows: list[CsvRow] = []
        for index, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue  # blank spreadsheet row
            if len(rows) >= MAX_ROWS:
                raise InvalidImport(
                    f"The file has more than {MAX_ROWS:,} data rows; split it into smaller files.",
                    f"at most {MAX_ROWS} rows per import",
                    "too_many_rows",
                )
            cells = {
                c: (record[p].strip() if p < len(record) else "") for c, p in positions.items()
            }
            rows.append(CsvRow(index, cells))
    except csv.Error as exc:
        raise InvalidImport(f"The file is not valid CSV: {exc}.", "malformed CSV") from exc
    return ParsedCsv(tuple(positions), rows)


def validate_row(
    row: CsvRow,
    type_keys: set[str],
    team_by_name: dict[str, uuid.UUID],
    team_ids: set[uuid.UUID],
) -> dict[str, Any] | list[ImportRowError]:
    """The store fields a row sets (blank optional cells left out), or every error it has."""
    errors: list[ImportRowError] = []

    def fail(field: str, message: str) -> None:
        errors.append(ImportRowError(row=row.number, field=field, message=message))

    data: dict[str, Any] = {}
    for column in ("code", "name", "lat", "lng", "customer_type"):
        data[column] = row.cells.get(column, "")
    for column in ("address", "geofence_radius_m"):
        if row.cells.get(column):
            data[column] = row.cells[column]
    team_text = row.cells.get("team", "")
    if team_text:
        team_id = _resolve_team(team_text, team_by_name, team_ids)
        if team_id is None:
            fail("team", f"no team named {team_text[:100]!r} (or with that id)")
        else:
            data["team_id"] = team_id
    for column in REQUIRED:
        if not data[column]:
            fail(column, "required")
    try:
        store = StoreCreate.model_validate(data)
    except ValidationError as exc:
        seen = {e.field for e in errors}
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "row"
            if field not in seen:
                seen.add(field)
                fail(field, str(err["msg"]).replace("\x00", "\\x00"))
        store = None
    if store is not None and store.customer_type not in type_keys:
        fail("customer_type", f"no customer type {store.customer_type!r}")
    if errors:
        return sorted(errors, key=lambda e: COLUMNS.index(e.field) if e.field in COLUMNS else 99)
    assert store is not None
    values = store.model_dump(include={"code", "name", "lat", "lng", "customer_type"})
    for column in ("address", "geofence_radius_m", "team_id"):
        if column in data:
            values[column] = getattr(store, column)
    return values


def _resolve_team(
    text: str, team_by_name: dict[str, uuid.UUID], team_ids: set[uuid.UUID]
) -> uuid.UUID | None:
    if text in team_by_name:
        return team_by_name[text]
    try:
        team_id = uuid.UUID(text)
    except ValueError:
        return None
    return team_id if team_id in team_ids else None
