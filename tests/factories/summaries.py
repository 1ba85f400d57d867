"""Sample data for the pure summary tests (no database)."""

import dataclasses
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from backend.summaries.card import (
    SummaryAnswer,
    SummaryFlag,
    SummaryInput,
    SummaryNextAction,
    SummaryPending,
    SummaryPhoto,
    SummaryStore,
    SummaryTag,
)

CHECK_IN = datetime(2024, 5, 1, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai
SUBMIT = CHECK_IN + timedelta(minutes=37, seconds=20)
DUE = CHECK_IN + timedelta(days=2, hours=5)


def sample_input(**changes: Any) -> SummaryInput:
    """A complete visit's summary input; keyword arguments replace fields."""
    return dataclasses.replace(_BASE, **changes)


_BASE = SummaryInput(
    visit_id=uuid.UUID("0b1e6a4e-7a57-4c0e-9a57-000000000001"),
    store=SummaryStore(
        name="仁和大药房（解放路店）",
        code="PH-0042",
        address="杭州市上城区解放路 188 号",
        customer_type="pharmacy",
        customer_type_name={"zh": "药店", "en": "Pharmacy"},
    ),
    rep_display_name="张伟",
    checked_in_at=CHECK_IN,
    checked_out_at=SUBMIT,
    trust_score=50,
    timezone="Asia/Shanghai",
    distance_m=35.27,
    accuracy_m=12.0,
    flags=[
        SummaryFlag("low_accuracy", 10, {"zh": "定位精度 140 米", "en": "accuracy 140 m"}),
        SummaryFlag("outside_geofence", 40, {"zh": "离门店 320 米", "en": "320 m away"}),
    ],
    photos={
        kind: SummaryPhoto(f"/api/v1/visits/x/photos/{kind}/thumb", 320, 240)
        for kind in ("conversation", "shelf", "storefront")
    },
    profile_tags=[
        SummaryTag("price_sensitive", "attitude", {"zh": "价格敏感", "en": "Price sensitive"})
    ],
    next_action=SummaryNextAction("send_sample", DUE, "带 20 盒样品"),
    pending=[
        SummaryPending("oos", {"zh": "缺货", "en": "Out of stock"}, ["感冒灵", "板蓝根"]),
        SummaryPending("empty", {"zh": "空", "en": "Empty"}, []),
    ],
    answers=[
        SummaryAnswer(
            "attitude",
            {"zh": "药师态度", "en": "Attitude"},
            "choice",
            "price_sensitive",
            {"zh": "关注价格", "en": "Price sensitive"},
        ),
        SummaryAnswer("price_tags_ok", {"zh": "价签正确", "en": "Price tags"}, "boolean", True),
        SummaryAnswer("oos", {"zh": "缺货", "en": "Out of stock"}, "string_list", ["a", "b"]),
        SummaryAnswer("remark", {"zh": "备注", "en": "Remark"}, "text", None),
    ],
)


def jpeg(color: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=95)
    return out.getvalue()
