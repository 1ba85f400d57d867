"""The duplicate photo flag, for any owner (pure: no I/O, no clock).

DESIGN §6: a photo with the same upload bytes as, or a perceptual hash within distance 6 of,
another photo of the org in the last 180 days is flagged ``duplicate_photo``. The flag says
what the photo duplicates: another visit's photo, an audit photo or a rectification photo.
"""

from datetime import datetime
from typing import Final

from backend.photos.owner import OwnerKind
from backend.presence.flags import Flag, FlagCode

#: What the matched photo was, in the flag's detail (zh, en).
MATCHED: Final[dict[OwnerKind, tuple[str, str]]] = {
    OwnerKind.visit: ("另一次拜访的照片", "a photo of another visit"),
    OwnerKind.audit_item: ("巡店照片", "an audit photo"),
    OwnerKind.after: ("整改照片", "a rectification photo"),
}


def duplicate_photo_flag(
    subject_zh: str, subject_en: str, *, matched: OwnerKind, matched_at: datetime, distance: int
) -> Flag:
    """``subject`` (e.g. "shelf 照片" / "shelf photo") duplicates a photo of the owner kind
    ``matched`` taken at ``matched_at``, at Hamming ``distance`` (0: identical)."""
    how_zh = "完全相同" if distance == 0 else f"高度相似（差异 {distance}）"
    how_en = "identical" if distance == 0 else f"near-identical (distance {distance})"
    what_zh, what_en = MATCHED[matched]
    day = matched_at.date().isoformat()
    return Flag(
        FlagCode.duplicate_photo,
        f"{subject_zh}与 {day} {what_zh}{how_zh}",
        f"{subject_en} {how_en} to {what_en} on {day}",
    )
