"""The ``standard`` audit template (pure): valid by the same rules as an admin's checklist,
bilingual everywhere, and scoring a realistic store walk sensibly."""

import re
from collections import Counter

from backend.audits.checklist import (
    ChecklistInput,
    checklist_from_input,
    checklist_from_stored,
    checklist_problems,
    stored_items,
)
from backend.audits.defaults import STANDARD_TEMPLATE, standard_checklist
from backend.audits.results import merge_results, missing, result_problems
from backend.audits.scoring import score

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_template() -> None:
    assert STANDARD_TEMPLATE.key == "standard"
    assert (STANDARD_TEMPLATE.name, STANDARD_TEMPLATE.name_en) == (
        "门店标准巡检",
        "Standard store audit",
    )
    assert tuple(STANDARD_TEMPLATE.customer_types) == ()


def test_the_checklist_is_valid_and_parsed_once() -> None:
    checklist = standard_checklist()
    assert checklist_problems(checklist) == []
    assert standard_checklist() is checklist
    # What is stored parses back by the same model, unchanged.
    assert ChecklistInput.model_validate({"items": stored_items(checklist)}) == checklist


def test_four_sections_in_order() -> None:
    runtime = checklist_from_input(STANDARD_TEMPLATE.key, 1, standard_checklist())
    assert [s.title.as_dict() for s in runtime.sections()] == [
        {"zh": "门头与环境", "en": "Storefront & surroundings"},
        {"zh": "陈列", "en": "Display"},
        {"zh": "价格与促销", "en": "Pricing & promotion"},
        {"zh": "库存", "en": "Stock"},
    ]
    # Each section's items are together, so the stored order already reads section by section.
    assert [item.key for s in runtime.sections() for item in s.items] == [
        item.key for item in runtime.items
    ]


def test_bilingual_everywhere() -> None:
    for item in standard_checklist().items:
        texts = [item.section, item.label] + ([item.help] if item.help else [])
        for text in texts:
            assert CJK.search(text.zh), (item.key, text.zh)
            assert text.en and not CJK.search(text.en), (item.key, text.en)


def test_a_mix_of_kinds_photos_weights_and_critical_items() -> None:
    items = standard_checklist().items
    assert 10 <= len(items) <= 14
    kinds = Counter(item.kind for item in items)
    assert kinds["check"] >= 6 and kinds["scale"] >= 1 and kinds["number"] >= 2
    photos = Counter(item.photo for item in items)
    assert 1 <= photos["required"] <= 2 and photos["on_fail"] >= 4
    assert [item.key for item in items if item.critical] == [
        "no_expired_products",
        "key_skus_in_stock",
    ]
    assert sum(1 for item in items if item.help) >= 5
    assert len({item.weight for item in items}) > 1
    assert {item.key for item in items} >= {"facings", "display_score", "days_of_stock"}


def test_a_realistic_store_walk() -> None:
    checklist = checklist_from_stored(STANDARD_TEMPLATE.key, 1, stored_items(standard_checklist()))
    walk = {
        "storefront_sign": {"result": "pass"},
        "store_clean": {"result": "pass"},
        "lighting_ok": {"result": "na", "note": "白天营业，未开灯"},
        "hero_in_golden_zone": {"result": "fail", "note": "主推品被竞品挤到底层"},
        "facings": {"value": 6},
        "display_score": {"value": 3},
        "price_tags": {"result": "pass"},
        "posm_in_place": {"result": "fail"},
        "promo_price_applied": {"result": "pass"},
        "no_expired_products": {"result": "pass"},
        "key_skus_in_stock": {"result": "pass"},
        "days_of_stock": {"value": 20.5},
    }
    assert result_problems(checklist, walk) == []
    results = merge_results(checklist, {}, walk)
    assert missing(checklist, results, set()) == [
        "photo:storefront_sign",
        "photo:hero_in_golden_zone",
        "photo:display_score",
        "photo:posm_in_place",
    ]
    photos = {"storefront_sign", "hero_in_golden_zone", "display_score", "posm_in_place"}
    assert missing(checklist, results, photos) == []
    result = score(checklist, results)
    # 17.5 possible without the lighting; 2 (golden zone) + 1 (POSM) lost, 0.8 of the display's 2.
    assert (result.earned, result.possible) == (13.7, 17.5)
    assert (result.percent, result.band, result.passed) == (78.3, "amber", False)
    assert result.failed == ["hero_in_golden_zone", "posm_in_place"]
    assert result.failed_critical == []
