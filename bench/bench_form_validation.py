"""Validating a visit's answers (``forms.answers.validate_answers``) against a 30-field form.

Pure CPU, no database. The form mixes every field type as a real one does: choices with tags,
a multi-choice, numbers and integers with bounds, dates, yes/no questions, free text, string
lists (one of them ``pending``), five ``visible_if`` follow-ups (all shown by the answers, so
they are validated too) and a facings table answered with 20 rows of four columns.

Prints the first call's time (building and caching the version's Pydantic model, then
validating), then the median and p95 of 2,000 validations of the same valid answer set after
a warm-up, in microseconds, plus the same for ``answer_rows`` (the summary card's reading).

Usage: python bench/bench_form_validation.py [--runs N]
"""

import argparse
import gc
import statistics
import time
import uuid
from typing import Any

from _harness import percentile

from backend.forms.answers import MODEL_CACHE, answer_rows, validate_answers
from backend.forms.definitions import (
    FormDefinition,
    FormDefinitionInput,
    FormVersion,
    definition_problems,
)


def label(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def options(*pairs: tuple[str, str, str], tag: dict[str, str] | None = None) -> list[Any]:
    tag = tag or {}
    return [
        {"value": v, "label": label(zh, en), **({"tag": tag[v]} if v in tag else {})}
        for v, zh, en in pairs
    ]


YES_NO_UNSURE = options(("yes", "是", "Yes"), ("no", "否", "No"), ("unsure", "不确定", "Unsure"))

FIELDS: list[dict[str, Any]] = [
    {
        "key": "store_format",
        "type": "choice",
        "label": label("业态", "Format"),
        "required": True,
        "options": options(
            ("hyper", "大卖场", "Hypermarket"),
            ("super", "超市", "Supermarket"),
            ("cvs", "便利店", "Convenience"),
            tag={"hyper": "key_account"},
        ),
    },
    {
        "key": "shelf_share",
        "type": "number",
        "label": label("货架占比", "Shelf share"),
        "required": True,
        "min": 0,
        "max": 100,
    },
    {
        "key": "facings",
        "type": "table",
        "label": label("排面", "Facings"),
        "max_items": 50,
        "columns": [
            {
                "key": "sku",
                "type": "text",
                "label": label("SKU", "SKU"),
                "required": True,
                "max_length": 100,
            },
            {
                "key": "facings",
                "type": "integer",
                "label": label("排面数", "Facings"),
                "required": True,
                "min": 0,
                "max": 999,
            },
            {"key": "on_promo", "type": "boolean", "label": label("促销", "On promotion")},
            {"key": "price", "type": "number", "label": label("售价", "Price"), "min": 0},
        ],
    },
    {
        "key": "out_of_stock",
        "type": "string_list",
        "label": label("缺货", "Out of stock"),
        "max_items": 50,
        "max_length": 100,
        "pending": True,
    },
    {
        "key": "price_tags_ok",
        "type": "boolean",
        "label": label("价签正确", "Price tags ok"),
        "required": True,
    },
    {
        "key": "price_tag_issues",
        "type": "string_list",
        "label": label("价签问题", "Issues"),
        "visible_if": {"field": "price_tags_ok", "equals": False},
        "required": True,
    },
    {
        "key": "promo_running",
        "type": "boolean",
        "label": label("促销中", "Promotion running"),
        "required": True,
    },
    {
        "key": "promo_type",
        "type": "choice",
        "label": label("促销形式", "Promotion type"),
        "options": options(
            ("stack", "堆头", "Floor stack"), ("cut", "特价", "Price cut"), ("gift", "买赠", "Gift")
        ),
        "visible_if": {"field": "promo_running", "equals": True},
        "required": True,
    },
    {
        "key": "promo_ends",
        "type": "date",
        "label": label("促销结束", "Promotion ends"),
        "visible_if": {"field": "promo_running", "equals": True},
    },
    {
        "key": "promo_notes",
        "type": "textarea",
        "label": label("促销说明", "Promotion notes"),
        "visible_if": {"field": "promo_type", "in": ["stack", "gift"]},
    },
    {
        "key": "competitor",
        "type": "multi_choice",
        "label": label("竞品动态", "Competitors"),
        "options": options(
            ("price_war", "低价", "Low prices"),
            ("launch", "新品", "Launch"),
            ("display", "陈列", "Display"),
            ("promoter", "促销员", "Promoter"),
            tag={"price_war": "price_pressure"},
        ),
    },
    {
        "key": "competitor_detail",
        "type": "text",
        "label": label("竞品详情", "Competitor detail"),
        "visible_if": {"field": "competitor", "in": ["price_war", "launch"]},
        "max_length": 300,
    },
    {
        "key": "manager",
        "type": "choice",
        "label": label("店长态度", "Manager"),
        "options": options(
            ("coop", "配合", "Cooperative"),
            ("neutral", "一般", "Neutral"),
            ("fees", "要费用", "Asks for fees"),
            tag={"fees": "fee_demanding"},
        ),
    },
    {"key": "manager_name", "type": "text", "label": label("店长姓名", "Manager name")},
    {
        "key": "visit_minutes",
        "type": "integer",
        "label": label("拜访时长", "Minutes"),
        "min": 0,
        "max": 600,
    },
    {"key": "next_delivery", "type": "date", "label": label("下次到货", "Next delivery")},
    {
        "key": "stock_days",
        "type": "integer",
        "label": label("库存天数", "Days of stock"),
        "min": 0,
        "max": 365,
    },
    {
        "key": "display_score",
        "type": "number",
        "label": label("陈列评分", "Display score"),
        "min": 0,
        "max": 10,
    },
    {"key": "posm_ok", "type": "boolean", "label": label("物料到位", "POSM in place")},
    {"key": "fridge_ok", "type": "boolean", "label": label("冰柜正常", "Fridge working")},
    {
        "key": "cleanliness",
        "type": "choice",
        "label": label("清洁度", "Cleanliness"),
        "options": options(("good", "好", "Good"), ("ok", "一般", "OK"), ("bad", "差", "Poor")),
    },
    {
        "key": "samples_left",
        "type": "string_list",
        "label": label("留样", "Samples left"),
        "max_items": 20,
    },
    {
        "key": "training_done",
        "type": "choice",
        "label": label("培训", "Training"),
        "options": YES_NO_UNSURE,
    },
    {"key": "order_placed", "type": "boolean", "label": label("下单", "Order placed")},
    {"key": "order_value", "type": "number", "label": label("订单金额", "Order value"), "min": 0},
    {
        "key": "payment_terms",
        "type": "choice",
        "label": label("账期", "Payment terms"),
        "options": options(
            ("cash", "现结", "Cash"), ("d30", "月结", "30 days"), ("d60", "60天", "60 days")
        ),
    },
    {"key": "contract_until", "type": "date", "label": label("合同到期", "Contract until")},
    {
        "key": "issues",
        "type": "multi_choice",
        "label": label("问题", "Issues"),
        "options": options(
            ("late", "到货慢", "Late delivery"),
            ("damaged", "破损", "Damaged"),
            ("expiry", "临期", "Near expiry"),
        ),
    },
    {"key": "summary", "type": "textarea", "label": label("小结", "Summary"), "required": True},
    {"key": "follow_up", "type": "text", "label": label("跟进", "Follow-up")},
]

ANSWERS: dict[str, Any] = {
    "store_format": "hyper",
    "shelf_share": 23.5,
    "facings": [
        {"sku": f"SKU-{i:03d} 原味 650ml", "facings": i % 7, "on_promo": i % 3 == 0, "price": 4.5}
        for i in range(20)
    ],
    "out_of_stock": ["SKU-004 原味 650ml", "SKU-011 柠檬 330ml", "SKU-017 家庭装 1.5L"],
    "price_tags_ok": False,
    "price_tag_issues": ["SKU-002 价签仍为促销价", "SKU-009 缺价签"],
    "promo_running": True,
    "promo_type": "stack",
    "promo_ends": "2026-12-31",
    "promo_notes": "端架两组，堆头一个，持续到月底",
    "competitor": ["price_war", "promoter"],
    "competitor_detail": "某品牌 1.5L 直降 2 元",
    "manager": "fees",
    "manager_name": "李店长",
    "visit_minutes": 35,
    "next_delivery": "2026-12-05",
    "stock_days": 12,
    "display_score": 7.5,
    "posm_ok": True,
    "fridge_ok": False,
    "cleanliness": "ok",
    "samples_left": ["新品试饮装 ×6", "海报 ×2"],
    "training_done": "yes",
    "order_placed": True,
    "order_value": 3860.0,
    "payment_terms": "d30",
    "contract_until": "2027-06-30",
    "issues": ["late", "expiry"],
    "summary": "陈列较上周改善；价签两处错误已提醒店长；冰柜故障需报修。",
    "follow_up": "周五前送海报和冰柜维修单",
}


def build_form() -> FormVersion:
    parsed = FormDefinitionInput.model_validate({"fields": FIELDS})
    assert not definition_problems(parsed.fields), definition_problems(parsed.fields)
    assert len(parsed.fields) == 30
    definition = FormDefinition(version=1, fields=parsed.fields)
    return FormVersion(uuid.uuid4(), "supermarket", 1, definition)


def timed_us(call: Any, runs: int) -> list[float]:
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(runs):
        started = clock()
        call()
        samples.append((clock() - started) / 1_000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000)
    args = parser.parse_args()

    form = build_form()
    started = time.perf_counter_ns()
    normalized = validate_answers(form, ANSWERS)  # builds and caches the model
    first_us = (time.perf_counter_ns() - started) / 1_000
    assert normalized == ANSWERS, "the answer set must be valid and already normalized"
    assert MODEL_CACHE.builds == 1

    for _ in range(200):  # warm-up
        validate_answers(form, ANSWERS)
    gc.collect()
    gc.disable()  # a collection mid-run measures the collector, not validation
    try:
        validation = timed_us(lambda: validate_answers(form, ANSWERS), args.runs)
        reading = timed_us(lambda: answer_rows(form, normalized), args.runs)
    finally:
        gc.enable()
    assert MODEL_CACHE.builds == 1, "the model must be built once per version"

    print(f"form: 30 fields, facings table with {len(ANSWERS['facings'])} rows, 5 visible_if")
    print(f"first call (build + cache model, validate): {first_us:,.0f} µs")
    print(
        f"validate_answers over {args.runs} runs: median {statistics.median(validation):.1f} µs, "
        f"p95 {percentile(validation, 95):.1f} µs"
    )
    print(
        f"answer_rows over {args.runs} runs: median {statistics.median(reading):.1f} µs, "
        f"p95 {percentile(reading, 95):.1f} µs"
    )


if __name__ == "__main__":
    main()
