"""Forms in tests: answers for a published form's fields (what a rep sends), a realistic
filled-in visit of each default customer type, and form versions built in memory for the pure
tests (no database)."""

import uuid
from typing import Any

import pytest

from backend.forms.answers import validate_answers
from backend.forms.definitions import FormDefinition, FormDefinitionInput, FormVersion
from backend.forms.exceptions import InvalidForm

# Answers a rep could give on each default form (valid by its rules, every branch shown).
FILLED_IN: dict[str, dict[str, Any]] = {
    "pharmacy": {
        "store_kind": "chain",
        "medical_insurance": True,
        "otc_out_of_stock": ["布洛芬缓释胶囊 0.3g×20粒", "复方感冒灵颗粒 10g×9袋"],
        "our_skus_on_shelf": 14,
        "shelf_position": "eye_level",
        "competitor_promotions": ["buy_gift", "staff_incentive"],
        "competitor_promotion_details": "某品牌感冒药买二送一，11月1日至30日；店员每盒提成2元",
        "pharmacist_attitude": "price_sensitive",
        "staff_trained": False,
        "monthly_boxes": 120,
        "notes": "店长希望下周送样品",
    },
    "clinic": {
        "clinic_kind": "dental",
        "daily_patients": 40,
        "decision_maker": "owner_doctor",
        "decision_maker_contact": "王院长",
        "equipment_in_use": [
            {
                "model": "西诺德 Axano 牙椅",
                "quantity": 3,
                "purchase_year": 2019,
                "under_warranty": False,
            },
            {"model": "W&H 高压灭菌器", "quantity": 1},
        ],
        "maintenance_frequency": "quarterly",
        "current_supplier": "杭州某医疗器械公司",
        "supplier_satisfaction": "dissatisfied",
        "budget_window": "this_quarter",
        "budget_amount": 25.5,
        "demo_requested": True,
    },
    "supermarket": {
        "store_format": "hypermarket",
        "shelf_share": 18.5,
        "facings": [
            {"sku": "650ml 原味", "facings": 6},
            {"sku": "330ml 柠檬味", "facings": 4},
            {"sku": "1.5L 家庭装", "facings": 0},
        ],
        "out_of_stock_skus": ["1.5L 家庭装"],
        "price_tags_correct": False,
        "price_tag_issues": ["330ml 柠檬味：价签仍是促销价 3.5 元"],
        "promotion_running": True,
        "promotion_type": "floor_stack",
        "promotion_ends_on": "2026-12-31",
        "competitor_activity": ["price_war", "promoter"],
        "manager_attitude": "cooperative",
    },
}


def answer_for(spec: dict[str, Any]) -> Any:
    """A valid answer for one field or table column of a form definition."""
    kind = spec["type"]
    low = spec.get("min")
    if kind in ("text", "textarea"):
        return "货架整洁"
    if kind == "integer":
        return int(low) if low is not None else 3
    if kind == "number":
        return float(low) if low is not None else 12.5
    if kind == "boolean":
        return True
    if kind == "choice":
        return spec["options"][0]["value"]
    if kind == "multi_choice":
        return [spec["options"][0]["value"]]
    if kind == "date":
        return "2026-11-30"
    if kind == "string_list":
        return ["布洛芬缓释胶囊 0.3g×20粒"]
    if kind == "table":
        return [{column["key"]: answer_for(column) for column in spec["columns"]}]
    raise AssertionError(f"unknown field type {kind}")


def fill_form(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Answers for every field whose visible_if holds, in form order (earlier fields first)."""
    answers: dict[str, Any] = {}
    for spec in fields:
        condition = spec.get("visible_if")
        if condition:
            value = answers.get(condition["field"])
            shown = (
                value == condition["equals"]
                if "equals" in condition
                else (value in condition.get("in", []))
            )
            if not shown:
                continue
        answers[spec["key"]] = answer_for(spec)
    return answers


def label(text: str) -> dict[str, str]:
    return {"zh": text, "en": text}


def field(key: str, type: str, **props: Any) -> dict[str, Any]:
    return {"key": key, "type": type, "label": label(key), **props}


def options(*values: str, tags: dict[str, str] | None = None) -> list[dict[str, Any]]:
    tags = tags or {}
    return [
        {
            "value": v,
            "label": {"zh": f"{v}-zh", "en": f"{v}-en"},
            **({"tag": tags[v]} if v in tags else {}),
        }
        for v in values
    ]


def form(*fields: dict[str, Any], version: int = 1, customer_type: str = "pharmacy") -> FormVersion:
    """A form version with a fresh id (so each test gets its own cached model)."""
    parsed = FormDefinitionInput.model_validate({"fields": list(fields)})
    definition = FormDefinition(version=version, fields=parsed.fields)
    return FormVersion(uuid.uuid4(), customer_type, version, definition)


def problems(form_version: FormVersion, answers: object) -> list[tuple[str, str]]:
    """The (pointer, code) pairs validation reports; fails if the answers are accepted."""
    with pytest.raises(InvalidForm) as caught:
        validate_answers(form_version, answers)
    assert caught.value.status == 422 and caught.value.code == "invalid_form"
    return [(str(e["pointer"]), str(e["code"])) for e in caught.value.errors]
