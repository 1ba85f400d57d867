"""The pure rules and texts (no database): overdue, the reopen's due time, which after photo
counts, and every message in both languages."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backend.kit.watermark import watermark_lines
from backend.models import RectificationStatus
from backend.rectifications import messages, rules, service

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "due", "overdue"),
    [
        (RectificationStatus.open, NOW - timedelta(seconds=1), True),
        (RectificationStatus.reopened, NOW - timedelta(hours=1), True),
        (RectificationStatus.open, NOW, False),
        (RectificationStatus.open, NOW + timedelta(hours=1), False),
        (RectificationStatus.submitted, NOW - timedelta(days=1), False),
        (RectificationStatus.verified, NOW - timedelta(days=1), False),
    ],
)
def test_overdue_is_owed_and_past_due(
    status: RectificationStatus, due: datetime, overdue: bool
) -> None:
    assert rules.is_overdue(status, due, NOW) is overdue


def test_a_reopen_never_shortens_the_deadline() -> None:
    assert rules.due_after_reopen(NOW - timedelta(days=1), False, NOW) == NOW + timedelta(days=3)
    assert rules.due_after_reopen(NOW - timedelta(days=1), True, NOW) == NOW + timedelta(days=2)
    assert rules.due_after_reopen(NOW + timedelta(days=2), True, NOW) == NOW + timedelta(days=2)
    far = NOW + timedelta(days=9)
    assert rules.due_after_reopen(far, False, NOW) == far


def test_only_a_photo_newer_than_the_reopen_counts() -> None:
    assert rules.photo_counts(NOW, None)
    assert rules.photo_counts(NOW, NOW - timedelta(seconds=1))
    assert not rules.photo_counts(NOW, NOW)
    assert not rules.photo_counts(NOW - timedelta(hours=1), NOW)


def test_ids_are_derived_from_the_audit_and_item() -> None:
    audit = uuid.uuid4()
    assert service.rectification_id(audit, "price_tags") == service.rectification_id(
        audit, "price_tags"
    )
    assert service.rectification_id(audit, "price_tags") != service.rectification_id(
        audit, "shelf_full"
    )
    assert service.rectification_id(audit, "a").version == 5


TITLE = {"zh": "价签清晰准确", "en": "Price tags clear and correct"}


@pytest.mark.parametrize(
    "message",
    [
        messages.created(TITLE, "华联超市", True),
        messages.submitted(TITLE, "华联超市", "王芳"),
        messages.verified(TITLE, "华联超市"),
        messages.reopened(TITLE, "华联超市", "价签仍歪"),
        messages.due_soon(TITLE, "华联超市"),
        messages.due_now(TITLE, "华联超市"),
        messages.overdue(TITLE, "华联超市", "王芳"),
    ],
)
def test_every_message_speaks_both_languages(message: messages.Message) -> None:
    assert message.type.startswith("rectification.")
    assert "价签清晰准确（华联超市）" in message.title["zh"]
    assert "Price tags clear and correct (华联超市)" in message.title["en"]
    assert message.body["zh"] and message.body["en"]
    assert message.body["zh"] != message.body["en"]


def test_a_title_without_a_store_or_english_still_reads() -> None:
    message = messages.due_now({"zh": "陈列整齐"}, None)
    assert message.title == {"zh": "整改已到期：陈列整齐", "en": "Rectification due now: 陈列整齐"}


def test_the_watermark_names_place_person_and_local_time() -> None:
    lines = watermark_lines("华联超市", "王芳", NOW, "Asia/Shanghai")
    assert lines == ["华联超市", "王芳 · 2026-12-02 14:00 (UTC+8)"]
