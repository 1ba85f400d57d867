"""Answer validation (pure): every type, required, visible_if, bounds, unknown keys, and all
problems at once with their pointers."""

import pytest

from backend.forms import answers as answers_module
from backend.forms.answers import MODEL_CACHE, validate_answers
from backend.forms.definitions import FormVersion
from backend.forms.exceptions import InvalidForm
from tests.factories.forms import field, form, options, problems


def test_text_is_stripped_blank_is_unanswered_and_control_characters_refused() -> None:
    f = form(field("name", "text", max_length=5), field("notes", "textarea"))
    assert validate_answers(f, {"name": "  abc ", "notes": "line 1\nline 2\t"}) == {
        "name": "abc",
        "notes": "line 1\nline 2",
    }
    assert validate_answers(f, {"name": "   ", "notes": None}) == {}
    assert problems(f, {"name": "abcdef"}) == [("/answers/name", "too_long")]
    assert problems(f, {"name": "a\x00b", "notes": "\x1b[31m"}) == [
        ("/answers/name", "control_characters"),
        ("/answers/notes", "control_characters"),
    ]
    assert problems(f, {"name": 12}) == [("/answers/name", "wrong_type")]


def test_text_default_length_is_bounded() -> None:
    f = form(field("name", "text"))
    assert problems(f, {"name": "x" * 501}) == [("/answers/name", "too_long")]


def test_numbers() -> None:
    f = form(field("share", "number", min=0, max=100), field("free", "number"))
    assert validate_answers(f, {"share": 35, "free": -1.5}) == {"share": 35.0, "free": -1.5}
    assert problems(f, {"share": 100.5}) == [("/answers/share", "out_of_range")]
    assert problems(f, {"share": "35"}) == [("/answers/share", "wrong_type")]
    assert problems(f, {"share": True}) == [("/answers/share", "wrong_type")]
    assert problems(f, {"free": float("nan")}) == [("/answers/free", "out_of_range")]
    assert problems(f, {"free": 2**63}) == [("/answers/free", "out_of_range")]
    assert problems(f, {"free": 10**400})[0][0] == "/answers/free"


def test_integers() -> None:
    f = form(field("n", "integer", min=0, max=10), field("big", "integer"))
    assert validate_answers(f, {"n": 0, "big": -(10**12)}) == {"n": 0, "big": -(10**12)}
    assert problems(f, {"n": 11}) == [("/answers/n", "out_of_range")]
    assert problems(f, {"n": -1}) == [("/answers/n", "out_of_range")]
    assert problems(f, {"n": 2.5}) == [("/answers/n", "wrong_type")]
    assert problems(f, {"n": 2.0}) == [("/answers/n", "wrong_type")]
    assert problems(f, {"n": "3"}) == [("/answers/n", "wrong_type")]
    assert problems(f, {"n": False}) == [("/answers/n", "wrong_type")]
    assert problems(f, {"big": 2**63}) == [("/answers/big", "out_of_range")]


def test_booleans() -> None:
    f = form(field("ok", "boolean"))
    assert validate_answers(f, {"ok": False}) == {"ok": False}
    for junk in ("true", 1, 0, "是"):
        assert problems(f, {"ok": junk}) == [("/answers/ok", "wrong_type")]


def test_choices() -> None:
    f = form(
        field("one", "choice", options=options("a", "b")),
        field("many", "multi_choice", options=options("a", "b", "c"), max_items=3),
    )
    assert validate_answers(f, {"one": "a", "many": ["c", "a", "c"]}) == {
        "one": "a",
        "many": ["c", "a"],  # repeats dropped, order kept
    }
    assert validate_answers(f, {"many": []}) == {"many": []}
    assert problems(f, {"one": "z"}) == [("/answers/one", "not_an_option")]
    assert problems(f, {"one": ["a"]}) == [("/answers/one", "not_an_option")]
    assert problems(f, {"many": ["a", "z"]}) == [("/answers/many/1", "not_an_option")]
    # The cap counts what was sent, before repeats are dropped.
    assert problems(f, {"many": ["a", "b", "c", "a"]}) == [("/answers/many", "too_many_items")]
    assert problems(f, {"many": "a"}) == [("/answers/many", "wrong_type")]


def test_multi_choice_caps_at_its_options_by_default() -> None:
    f = form(field("many", "multi_choice", options=options("a", "b")))
    assert problems(f, {"many": ["a", "b", "a"]}) == [("/answers/many", "too_many_items")]


def test_dates() -> None:
    f = form(field("on", "date"))
    assert validate_answers(f, {"on": "2026-02-28"}) == {"on": "2026-02-28"}
    for junk in ("2026-02-30", "2026-2-3", "20260203", "2026-02-03T10:00:00", "tomorrow", ""):
        assert problems(f, {"on": junk}) == [("/answers/on", "invalid_date")], junk
    assert problems(f, {"on": 20260203}) == [("/answers/on", "wrong_type")]


def test_string_lists() -> None:
    f = form(field("oos", "string_list", max_items=4, max_length=10))
    assert validate_answers(f, {"oos": [" 布洛芬 ", "", "  ", "维C"]}) == {"oos": ["布洛芬", "维C"]}
    assert problems(f, {"oos": ["a", "b", "c", "d", ""]}) == [("/answers/oos", "too_many_items")]
    assert problems(f, {"oos": ["ok", "x" * 11, 3, "\x00"]}) == [
        ("/answers/oos/1", "too_long"),
        ("/answers/oos/2", "wrong_type"),
        ("/answers/oos/3", "control_characters"),
    ]
    assert problems(f, {"oos": "布洛芬"}) == [("/answers/oos", "wrong_type")]


def test_tables() -> None:
    f = form(
        field(
            "facings",
            "table",
            max_items=3,
            columns=[
                field("sku", "text", required=True, max_length=20),
                field("facings", "integer", required=True, min=0),
                field("on_promo", "boolean"),
                field("grade", "choice", options=options("a", "b")),
                field("since", "date"),
                field("price", "number", min=0),
            ],
        )
    )
    rows = [
        {"sku": " SKU-1 ", "facings": 3},
        {"sku": "SKU-2", "facings": 0, "on_promo": True, "grade": "b", "since": "2026-01-05"},
    ]
    assert validate_answers(f, {"facings": rows}) == {
        "facings": [
            {"sku": "SKU-1", "facings": 3},
            {"sku": "SKU-2", "facings": 0, "on_promo": True, "grade": "b", "since": "2026-01-05"},
        ]
    }
    assert problems(
        f,
        {
            "facings": [
                {"sku": "ok", "facings": 1},
                {"facings": 1},
                {"sku": "  ", "facings": -1, "colour": "red"},
                {"sku": "x", "facings": "2", "grade": "z", "since": "2026-13-01", "price": -1},
            ]
        },
    ) == [
        ("/answers/facings", "too_many_items"),
    ]
    assert problems(
        f,
        {
            "facings": [
                {"facings": 1},
                {"sku": "  ", "facings": -1, "colour": "red"},
                {"sku": "x", "facings": "2", "grade": "z", "since": "2026-13-01", "price": -1},
            ]
        },
    ) == [
        ("/answers/facings/0/sku", "required"),
        ("/answers/facings/1/colour", "unknown_field"),
        ("/answers/facings/1/facings", "out_of_range"),
        ("/answers/facings/1/sku", "required"),
        ("/answers/facings/2/facings", "wrong_type"),
        ("/answers/facings/2/grade", "not_an_option"),
        ("/answers/facings/2/price", "out_of_range"),
        ("/answers/facings/2/since", "invalid_date"),
    ]
    assert problems(f, {"facings": [["SKU-1", 3]]}) == [("/answers/facings/0", "wrong_type")]


def test_required_fields() -> None:
    f = form(
        field("a", "text", required=True),
        field("b", "string_list", required=True),
        field("c", "boolean", required=True),
    )
    assert problems(f, {"a": " ", "c": None}) == [
        ("/answers/a", "required"),
        ("/answers/b", "required"),
        ("/answers/c", "required"),
    ]
    # A draft may leave required fields for later, but nothing it holds may be wrong.
    assert validate_answers(f, {"a": "x"}, partial=True) == {"a": "x"}
    assert problems_partial(f, {"a": 1}) == [("/answers/a", "wrong_type")]
    # An empty list is an answer ("nothing out of stock"); so is False.
    assert validate_answers(f, {"a": "x", "b": [], "c": False}) == {"a": "x", "b": [], "c": False}


def problems_partial(f: FormVersion, answers: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidForm) as caught:
        validate_answers(f, answers, partial=True)
    return [(str(e["pointer"]), str(e["code"])) for e in caught.value.errors]


def visibility_form() -> FormVersion:
    return form(
        field("promo", "boolean", required=True),
        field(
            "promo_type",
            "choice",
            options=options("gift", "cut"),
            required=True,
            visible_if={"field": "promo", "equals": True},
        ),
        field(
            "gift_detail",
            "text",
            required=True,
            visible_if={"field": "promo_type", "equals": "gift"},
        ),
        field("channels", "multi_choice", options=options("web", "store", "app")),
        field("app_name", "text", visible_if={"field": "channels", "in": ["app", "web"]}),
    )


def test_visible_if_shown_fields_are_required_and_accepted() -> None:
    f = visibility_form()
    assert problems(f, {"promo": True}) == [("/answers/promo_type", "required")]
    assert problems(f, {"promo": True, "promo_type": "gift"}) == [
        ("/answers/gift_detail", "required")
    ]
    answers = {
        "promo": True,
        "promo_type": "gift",
        "gift_detail": "买一赠一",
        "channels": ["store", "app"],
        "app_name": "美团",
    }
    assert validate_answers(f, answers) == answers


def test_visible_if_hidden_fields_are_neither_required_nor_accepted() -> None:
    f = visibility_form()
    assert validate_answers(f, {"promo": False}) == {"promo": False}
    assert validate_answers(f, {"promo": True, "promo_type": "cut"}) == {
        "promo": True,
        "promo_type": "cut",
    }
    # A chain collapses: gift_detail hangs on promo_type, which promo hides.
    assert problems(f, {"promo": False, "promo_type": "gift", "gift_detail": "x"}) == [
        ("/answers/promo_type", "hidden"),
        ("/answers/gift_detail", "hidden"),
    ]
    assert problems(f, {"promo": False, "channels": ["store"], "app_name": "x"}) == [
        ("/answers/app_name", "hidden")
    ]
    assert problems(f, {"promo": False, "app_name": "x"}) == [("/answers/app_name", "hidden")]
    assert problems_partial(f, {"promo": False, "promo_type": "gift"}) == [
        ("/answers/promo_type", "hidden")
    ]


def test_a_wrong_controlling_answer_is_reported_alone() -> None:
    # With promo unreadable nobody can tell whether promo_type is wanted: only promo is reported.
    f = visibility_form()
    assert problems(f, {"promo": "yes", "promo_type": "gift"}) == [("/answers/promo", "wrong_type")]


def test_visible_if_does_not_confuse_booleans_and_numbers() -> None:
    f = form(field("n", "integer"), field("x", "text", visible_if={"field": "n", "equals": 1}))
    assert validate_answers(f, {"n": 1, "x": "shown"}) == {"n": 1, "x": "shown"}
    assert problems(f, {"n": 2, "x": "hidden"}) == [("/answers/x", "hidden")]


def test_unknown_keys_are_reported_each() -> None:
    f = form(field("a", "text"))
    assert problems(f, {"a": "x", "b": 1, "a/b~c": 2, "\x00": 3}) == [
        ("/answers/\x00", "unknown_field"),
        ("/answers/a~1b~0c", "unknown_field"),
        ("/answers/b", "unknown_field"),
    ]


def test_answers_must_be_an_object() -> None:
    f = form(field("a", "text"))
    junks: tuple[object, ...] = (None, [], "a", 5)
    for junk in junks:
        assert problems(f, junk) == [("/answers", "wrong_type")]


def test_every_problem_at_once_in_form_order() -> None:
    f = form(
        field("kind", "choice", options=options("a", "b"), required=True),
        field("count", "integer", min=0, max=10, required=True),
        field("when", "date"),
        field("oos", "string_list", max_items=2),
        field("rows", "table", columns=[field("sku", "text", required=True)]),
        field("ok", "boolean", required=True),
        field("only_if_b", "text", visible_if={"field": "kind", "equals": "b"}),
    )
    assert problems(
        f,
        {
            "zzz": 1,
            "only_if_b": "x",
            "kind": "a",
            "count": 11,
            "when": "yesterday",
            "oos": ["1", "2", "3"],
            "rows": [{"sku": "ok"}, {}],
        },
    ) == [
        ("/answers/count", "out_of_range"),
        ("/answers/when", "invalid_date"),
        ("/answers/oos", "too_many_items"),
        ("/answers/rows/1/sku", "required"),
        ("/answers/ok", "required"),
        ("/answers/only_if_b", "hidden"),
        ("/answers/zzz", "unknown_field"),
    ]


def test_keys_that_shadow_pydantic_attributes_work() -> None:
    f = form(
        field("model_config", "text"),
        field("json", "integer"),
        field("copy", "boolean"),
        field("schema", "table", columns=[field("model_fields", "text")]),
    )
    answers = {"model_config": "a", "json": 1, "copy": True, "schema": [{"model_fields": "x"}]}
    assert validate_answers(f, answers) == answers


def test_the_model_of_a_version_is_built_once() -> None:
    f = form(field("a", "text"), field("n", "integer"))
    other = form(field("a", "text"))
    before = MODEL_CACHE.builds
    for _ in range(50):
        validate_answers(f, {"a": "x", "n": 1})
    with pytest.raises(InvalidForm):
        validate_answers(f, {"n": "x"})
    assert MODEL_CACHE.builds == before + 1
    assert answers_module.answers_model(f) is answers_module.answers_model(f)
    validate_answers(other, {"a": "x"})
    assert MODEL_CACHE.builds == before + 2


def test_the_cache_is_bounded() -> None:
    cache = answers_module._ModelCache(2, answers_module.build_answers_model)
    forms = [form(field("a", "text")) for _ in range(3)]
    for f in forms:
        cache.get(f)
    cache.get(forms[0])  # evicted: the oldest of three
    assert cache.builds == 4
    cache.get(forms[2])  # still there
    assert cache.builds == 4


def test_an_exclusive_option_is_chosen_alone() -> None:
    none = {"value": "none", "label": {"zh": "没有", "en": "None"}, "exclusive": True}
    f = form(
        field("promos", "multi_choice", options=[none, *options("buy_gift", "price_cut")]),
        field("channels", "multi_choice", options=options("web", "store")),
    )
    assert validate_answers(f, {"promos": ["none"]}) == {"promos": ["none"]}
    assert validate_answers(f, {"promos": ["none", "none"]}) == {"promos": ["none"]}
    assert validate_answers(f, {"promos": ["buy_gift", "price_cut"]}) == {
        "promos": ["buy_gift", "price_cut"]
    }
    assert problems(f, {"promos": ["buy_gift", "none"]}) == [
        ("/answers/promos", "exclusive_option")
    ]
    # Reported with the form's other problems, at once; fields without one are unaffected.
    assert problems(f, {"promos": ["none", "price_cut"], "channels": ["web", "nope"]}) == [
        ("/answers/promos", "exclusive_option"),
        ("/answers/channels/1", "not_an_option"),
    ]
