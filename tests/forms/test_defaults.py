"""The default forms (pure): valid by the same rules as an admin's, bilingual, and fit for a
realistic filled-in visit of each customer type."""

import re
import uuid

import pytest

from backend.forms.answers import answer_rows, pending_items, profile_tags, validate_answers
from backend.forms.defaults import DEFAULT_CUSTOMER_TYPES, default_form
from backend.forms.definitions import FormDefinition, FormVersion, definition_problems
from tests.factories.forms import FILLED_IN, problems

CJK = re.compile(r"[\u4e00-\u9fff]")


def version_of(key: str) -> FormVersion:
    fields = default_form(key).fields
    return FormVersion(uuid.uuid4(), key, 1, FormDefinition(version=1, fields=fields))


@pytest.mark.parametrize("key", [t.key for t in DEFAULT_CUSTOMER_TYPES])
def test_default_forms_are_valid_and_bilingual(key: str) -> None:
    form = default_form(key)
    assert definition_problems(form.fields) == []
    assert len(form.fields) >= 8
    for field in form.fields:
        assert CJK.search(field.label.zh) and not CJK.search(field.label.en), field.key
        for option in field.options or ():
            assert CJK.search(option.label.zh) and not CJK.search(option.label.en)


@pytest.mark.parametrize("key", [t.key for t in DEFAULT_CUSTOMER_TYPES])
def test_a_realistic_visit_validates(key: str) -> None:
    form = version_of(key)
    answers = validate_answers(form, FILLED_IN[key])
    assert answers == FILLED_IN[key]
    assert len(answer_rows(form, answers)) == len(FILLED_IN[key])


def test_pharmacy_card_pieces() -> None:
    form = version_of("pharmacy")
    answers = validate_answers(form, FILLED_IN["pharmacy"])
    tags = [t["tag"] for t in profile_tags(form, answers)]
    assert tags == ["chain_pharmacy", "competitor_push", "price_sensitive"]
    assert pending_items(form, answers)[0]["items"] == FILLED_IN["pharmacy"]["otc_out_of_stock"]
    # No competitor promotion: the details are not asked for, and refused if sent.
    none = {**FILLED_IN["pharmacy"], "competitor_promotions": ["none"]}
    assert problems(form, none) == [("/answers/competitor_promotion_details", "hidden")]


def test_supermarket_follow_up_fields() -> None:
    form = version_of("supermarket")
    base = {"store_format": "supermarket", "shelf_share": 20, "price_tags_correct": True}
    assert problems(form, {**base, "promotion_running": True}) == [
        ("/answers/promotion_type", "required")
    ]
    assert validate_answers(form, {**base, "promotion_running": False})
    assert problems(form, {**base, "promotion_running": False, "promotion_type": "gift"}) == [
        ("/answers/promotion_type", "hidden")
    ]
    assert problems(form, {**base, "price_tags_correct": False, "promotion_running": False}) == [
        ("/answers/price_tag_issues", "required")
    ]
    assert problems(form, {**base, "promotion_running": False, "shelf_share": 101})[0] == (
        "/answers/shelf_share",
        "out_of_range",
    )
    facings = [{"sku": "a", "facings": 1}, {"sku": "b", "facings": -2}]
    assert problems(form, {**base, "promotion_running": False, "facings": facings}) == [
        ("/answers/facings/1/facings", "out_of_range")
    ]
    answers = validate_answers(form, FILLED_IN["supermarket"])
    rows = {r["key"]: r["display"] for r in answer_rows(form, answers)}
    assert rows["facings"]["zh"] == "650ml 原味 × 6；330ml 柠檬味 × 4；1.5L 家庭装 × 0"
    assert [p["key"] for p in pending_items(form, answers)] == [
        "out_of_stock_skus",
        "price_tag_issues",
    ]


def test_clinic_budget_follow_up() -> None:
    form = version_of("clinic")
    answers = {**FILLED_IN["clinic"], "budget_window": "no_budget"}
    assert problems(form, answers) == [("/answers/budget_amount", "hidden")]
    tags = [t["tag"] for t in profile_tags(form, validate_answers(form, FILLED_IN["clinic"]))]
    assert tags == ["switch_opportunity", "hot_lead"]


@pytest.mark.parametrize("key", [t.key for t in DEFAULT_CUSTOMER_TYPES])
def test_none_options_exclude_every_other_choice(key: str) -> None:
    for spec in default_form(key).fields:
        for option in spec.options or ():
            if option.value == "none" or option.label.zh in ("没有", "无"):
                assert spec.type == "multi_choice" and option.exclusive, (key, spec.key)


def test_pharmacy_promotions_refuse_none_with_a_promotion() -> None:
    answers = {**FILLED_IN["pharmacy"], "competitor_promotions": ["buy_gift", "none"]}
    del answers["competitor_promotion_details"]
    assert ("/answers/competitor_promotions", "exclusive_option") in problems(
        version_of("pharmacy"), answers
    )
