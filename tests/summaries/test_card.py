import json
from datetime import UTC, datetime, timedelta

import pytest

from backend.summaries.card import (
    ACTION_TYPE_LABELS,
    SummaryNextAction,
    build_summary,
    countdown,
    display_value,
    duration_text,
    trust_level,
)
from tests.factories.summaries import CHECK_IN, DUE, SUBMIT, sample_input

DOCUMENTED_KEYS = {
    "version",
    "visit_id",
    "generated_at",
    "timezone",
    "utc_offset",
    "store",
    "rep",
    "checked_in_at",
    "checked_out_at",
    "local",
    "duration_s",
    "duration_min",
    "duration",
    "distance_m",
    "accuracy_m",
    "trust",
    "photos",
    "profile_tags",
    "next_action",
    "pending",
    "answers",
    "rectifications",
}


def test_documented_keys_and_json_ready() -> None:
    summary = build_summary(sample_input())
    assert set(summary) == DOCUMENTED_KEYS
    assert json.loads(json.dumps(summary)) == summary  # plain JSON, as stored in JSONB
    assert summary["version"] == 1
    assert summary["visit_id"] == "0b1e6a4e-7a57-4c0e-9a57-000000000001"
    assert summary["store"] == {
        "name": "仁和大药房（解放路店）",
        "code": "PH-0042",
        "address": "杭州市上城区解放路 188 号",
        "customer_type": {"key": "pharmacy", "name": {"zh": "药店", "en": "Pharmacy"}},
    }
    assert summary["rep"] == {"display_name": "张伟"}
    assert summary["distance_m"] == 35.3
    assert summary["accuracy_m"] == 12.0


def test_times_duration_and_local_strings() -> None:
    summary = build_summary(sample_input())
    assert summary["checked_in_at"] == "2024-05-01T01:30:00Z"
    assert summary["checked_out_at"] == "2024-05-01T02:07:20Z"
    assert summary["generated_at"] == "2024-05-01T02:07:20Z"
    assert summary["timezone"] == "Asia/Shanghai"
    assert summary["utc_offset"] == "+08:00"
    assert summary["local"] == {
        "date": "2024-05-01",
        "checked_in": "2024-05-01 09:30",
        "checked_out": "2024-05-01 10:07",
        "time_range": "09:30–10:07",
    }
    assert summary["duration_s"] == 37 * 60 + 20
    assert summary["duration_min"] == 37
    assert summary["duration"] == {"zh": "37 分钟", "en": "37 min"}


def test_visit_across_local_midnight() -> None:
    start = datetime(2024, 5, 1, 15, 50, tzinfo=UTC)  # 23:50 local
    summary = build_summary(
        sample_input(checked_in_at=start, checked_out_at=start + timedelta(minutes=30))
    )
    assert summary["local"]["date"] == "2024-05-01"
    assert summary["local"]["time_range"] == "23:50–2024-05-02 00:20"


def test_other_timezone_and_unknown_timezone() -> None:
    berlin = build_summary(sample_input(timezone="Europe/Berlin"))
    assert berlin["local"]["checked_in"] == "2024-05-01 03:30"  # CEST, +02:00
    assert berlin["utc_offset"] == "+02:00"
    bogus = build_summary(sample_input(timezone="Not/AZone"))
    assert bogus["timezone"] == "UTC"
    assert bogus["local"]["checked_in"] == "2024-05-01 01:30"


def test_naive_datetimes_are_utc() -> None:
    naive = build_summary(
        sample_input(
            checked_in_at=CHECK_IN.replace(tzinfo=None), checked_out_at=SUBMIT.replace(tzinfo=None)
        )
    )
    assert naive["checked_in_at"] == "2024-05-01T01:30:00Z"
    assert naive["duration_min"] == 37


def test_next_action_with_countdown_as_of_submit() -> None:
    action = build_summary(sample_input())["next_action"]
    assert action == {
        "type": "send_sample",
        "type_label": {"zh": "送样品", "en": "Send a sample"},
        "due_at": "2024-05-03T06:30:00Z",
        "due_local": "2024-05-03 14:30",
        "note": "带 20 盒样品",
        "countdown": {
            "as_of": "2024-05-01T02:07:20Z",
            "seconds": int((DUE - SUBMIT).total_seconds()),
            "overdue": False,
            "text": {"zh": "还剩 2 天 4 小时", "en": "due in 2 d 4 h"},
        },
    }
    assert build_summary(sample_input(next_action=None))["next_action"] is None


@pytest.mark.parametrize(
    ("kind", "zh"),
    [
        ("send_sample", "送样品"),
        ("quote", "报价"),
        ("demo", "产品演示"),
        ("follow_up_call", "电话回访"),
        ("other", "其他"),
    ],
)
def test_action_type_labels(kind: str, zh: str) -> None:
    action = build_summary(sample_input(next_action=SummaryNextAction(kind, DUE, "")))
    assert action["next_action"]["type_label"]["zh"] == zh
    assert action["next_action"]["note"] is None
    assert ACTION_TYPE_LABELS[kind]["en"]


@pytest.mark.parametrize(
    ("left", "zh", "en", "overdue"),
    [
        (timedelta(days=6, hours=23, minutes=59), "还剩 6 天 23 小时", "due in 6 d 23 h", False),
        (timedelta(days=1), "还剩 1 天", "due in 1 d", False),
        (
            timedelta(hours=5, minutes=20, seconds=59),
            "还剩 5 小时 20 分钟",
            "due in 5 h 20 min",
            False,
        ),
        (timedelta(hours=2), "还剩 2 小时", "due in 2 h", False),
        (timedelta(minutes=9, seconds=30), "还剩 9 分钟", "due in 9 min", False),
        (timedelta(seconds=0), "还剩 不到 1 分钟", "due in under 1 min", False),
        (-timedelta(hours=3), "已逾期 3 小时", "overdue by 3 h", True),
    ],
)
def test_countdown(left: timedelta, zh: str, en: str, overdue: bool) -> None:
    result = countdown(SUBMIT + left, SUBMIT)
    assert result["text"] == {"zh": zh, "en": en}
    assert result["overdue"] is overdue
    assert result["seconds"] == int(left.total_seconds())


def test_duration_text() -> None:
    assert duration_text(59) == {"zh": "不到 1 分钟", "en": "under 1 min"}
    assert duration_text(3600) == {"zh": "1 小时", "en": "1 h"}
    assert duration_text(3900 + 59) == {"zh": "1 小时 5 分钟", "en": "1 h 5 min"}
    early = build_summary(sample_input(checked_out_at=CHECK_IN - timedelta(seconds=5)))
    assert early["duration_s"] == 0  # never negative


@pytest.mark.parametrize(
    ("score", "level"), [(100, "high"), (80, "high"), (79, "medium"), (50, "medium"), (49, "low")]
)
def test_trust_levels(score: int, level: str) -> None:
    assert trust_level(score) == level
    assert build_summary(sample_input(trust_score=score))["trust"]["level"] == level


def test_trust_flags_photos_tags_pending_answers() -> None:
    summary = build_summary(sample_input())
    assert summary["trust"]["score"] == 50
    assert [f["code"] for f in summary["trust"]["flags"]] == ["outside_geofence", "low_accuracy"]
    assert summary["trust"]["flags"][0] == {
        "code": "outside_geofence",
        "weight": 40,
        "detail": {"zh": "离门店 320 米", "en": "320 m away"},
    }
    assert list(summary["photos"]) == ["storefront", "shelf", "conversation"]
    assert summary["photos"]["shelf"] == {
        "thumb_url": "/api/v1/visits/x/photos/shelf/thumb",
        "width": 320,
        "height": 240,
    }
    assert summary["profile_tags"] == [
        {
            "tag": "price_sensitive",
            "field": "attitude",
            "label": {"zh": "价格敏感", "en": "Price sensitive"},
        }
    ]
    assert summary["pending"] == [
        {"key": "oos", "label": {"zh": "缺货", "en": "Out of stock"}, "items": ["感冒灵", "板蓝根"]}
    ]
    answers = summary["answers"]
    assert [a["key"] for a in answers] == [
        "attitude",
        "price_tags_ok",
        "oos",
        "remark",
    ]  # form order
    assert answers[0]["display"] == {"zh": "关注价格", "en": "Price sensitive"}
    assert answers[1]["display"] == {"zh": "是", "en": "Yes"}
    assert answers[2]["display"] == {"zh": "a、b", "en": "a, b"}
    assert answers[3]["display"] == {"zh": "—", "en": "—"}
    assert answers[1]["value"] is True


def test_display_value_fallbacks() -> None:
    assert display_value(False) == {"zh": "否", "en": "No"}
    assert display_value(2.50) == {"zh": "2.5", "en": "2.5"}
    assert display_value(7) == {"zh": "7", "en": "7"}
    table = display_value([{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}])
    assert table["en"] == "sku: A, qty: 2; sku: B, qty: 1"
    assert display_value("") == {"zh": "—", "en": "—"}
