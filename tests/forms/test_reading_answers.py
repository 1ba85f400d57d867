"""answer_rows, profile_tags and pending_items: what the summary card shows (pure)."""

from backend.forms.answers import answer_rows, pending_items, profile_tags, validate_answers
from backend.forms.definitions import FormVersion
from tests.factories.forms import field, form, label, options


def card_form() -> FormVersion:
    return form(
        field(
            "attitude", "choice", options=options("fan", "price", tags={"price": "price_sensitive"})
        ),
        field(
            "promos",
            "multi_choice",
            options=options("gift", "cut", "none", tags={"gift": "gifting", "cut": "price_war"}),
        ),
        field("trained", "boolean"),
        field("share", "number"),
        field("oos", "string_list", pending=True),
        field(
            "facings",
            "table",
            pending=True,
            columns=[
                field("sku", "text", required=True),
                field("facings", "integer", required=True),
                field("promo", "boolean"),
            ],
        ),
        field("detail", "text", visible_if={"field": "trained", "equals": True}),
        field("visit_on", "date"),
        field("notes", "textarea", pending=True),
    )


def test_answer_rows_in_form_order_with_bilingual_display() -> None:
    f = card_form()
    answers = validate_answers(
        f,
        {
            "notes": "call back\n\n  bring samples ",
            "facings": [
                {"sku": "SKU-1", "facings": 3},
                {"sku": "SKU-2", "facings": 5, "promo": True},
            ],
            "share": 35,
            "trained": False,
            "promos": ["cut", "gift"],
            "attitude": "price",
            "oos": ["布洛芬", "维C"],
            "visit_on": "2026-01-05",
        },
    )
    rows = answer_rows(f, answers)
    assert [r["key"] for r in rows] == [
        "attitude",
        "promos",
        "trained",
        "share",
        "oos",
        "facings",
        "visit_on",
        "notes",
    ]
    display = {r["key"]: r["display"] for r in rows}
    assert display["attitude"] == {"zh": "price-zh", "en": "price-en"}
    assert display["promos"] == {"zh": "cut-zh、gift-zh", "en": "cut-en, gift-en"}
    assert display["trained"] == {"zh": "否", "en": "No"}
    assert display["share"] == {"zh": "35", "en": "35"}
    assert display["oos"] == {"zh": "布洛芬、维C", "en": "布洛芬, 维C"}
    assert display["facings"] == {
        "zh": "SKU-1 × 3；SKU-2 × 5 × 是",
        "en": "SKU-1 × 3; SKU-2 × 5 × Yes",
    }
    assert rows[0] == {
        "key": "attitude",
        "label": label("attitude"),
        "type": "choice",
        "value": "price",
        "display": {"zh": "price-zh", "en": "price-en"},
    }


def test_numbers_read_naturally() -> None:
    f = form(field("n", "number"))
    shown = [answer_rows(f, {"n": v})[0]["display"]["en"] for v in (35.0, 35.5, 0.1, 1e-7, 1e12)]
    assert shown == ["35", "35.5", "0.1", "0.0000001", "1000000000000"]


def test_hidden_and_unanswered_fields_are_left_out() -> None:
    f = card_form()
    # Stored answers of a field now hidden (should not happen) are not shown either.
    rows = answer_rows(f, {"trained": False, "detail": "stale"})
    assert [r["key"] for r in rows] == ["trained"]
    assert [r["key"] for r in answer_rows(f, {"trained": True, "detail": "x"})] == [
        "trained",
        "detail",
    ]


def test_profile_tags_of_chosen_options() -> None:
    f = card_form()
    tags = profile_tags(f, {"attitude": "price", "promos": ["none", "gift", "cut"]})
    assert tags == [
        {
            "tag": "price_sensitive",
            "field": "attitude",
            "label": {"zh": "price-zh", "en": "price-en"},
        },
        {"tag": "gifting", "field": "promos", "label": {"zh": "gift-zh", "en": "gift-en"}},
        {"tag": "price_war", "field": "promos", "label": {"zh": "cut-zh", "en": "cut-en"}},
    ]
    assert profile_tags(f, {"attitude": "fan"}) == []


def test_pending_items() -> None:
    f = card_form()
    pending = pending_items(
        f,
        {
            "oos": ["布洛芬缓释胶囊", "维C泡腾片"],
            "facings": [{"sku": "SKU-1", "facings": 0, "promo": False}],
            "notes": "call back\n\n bring samples",
        },
    )
    assert pending == [
        {"key": "oos", "label": label("oos"), "items": ["布洛芬缓释胶囊", "维C泡腾片"]},
        {"key": "facings", "label": label("facings"), "items": ["SKU-1 × 0 × 否"]},
        {"key": "notes", "label": label("notes"), "items": ["call back", "bring samples"]},
    ]
    # Nothing out of stock is nothing to follow up.
    assert pending_items(f, {"oos": [], "trained": True}) == []
