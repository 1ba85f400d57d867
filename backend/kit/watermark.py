"""The text a stored photo is watermarked with: where, who, and when in the org's local time.

Domain-free (plain strings and a time zone name), so every domain that stores a photo stamps it
the same way: ``["益丰大药房（文三路店）", "王芳 · 2026-12-02 14:05 (UTC+8)"]``.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def local_stamp(at: datetime, timezone: str) -> str:
    """``2026-12-02 14:05 (UTC+8)``: the time in ``timezone`` with its offset spelled out."""
    local = at.astimezone(ZoneInfo(timezone))
    offset = local.utcoffset() or timedelta(0)
    hours = offset.total_seconds() / 3600
    return f"{local:%Y-%m-%d %H:%M} (UTC{hours:+g})"


def watermark_lines(place: str, person: str, at: datetime, timezone: str) -> list[str]:
    return [place, f"{person} · {local_stamp(at, timezone)}"]
