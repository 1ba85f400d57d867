"""The PNG card: it decodes, is 1080 px wide, and really carries Chinese glyphs (pixels, not
just a file)."""

import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from backend.summaries.card import SummaryAnswer, SummaryNextAction, build_summary
from backend.summaries.png import (
    AMBER,
    FOOTER,
    GREEN,
    HEADER,
    MARGIN,
    MAX_HEIGHT,
    PLACEHOLDER,
    RED,
    WIDTH,
    layout_summary,
    render_summary_png,
    wrap,
)
from tests.factories.summaries import DUE, jpeg, sample_input


def pixels(png: bytes) -> NDArray[np.uint8]:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def summary_with_store(name: str, **changes: Any) -> dict[str, Any]:
    base = sample_input(**changes)
    return build_summary(replace(base, store=replace(base.store, name=name)))


def header_band(image: NDArray[np.uint8]) -> tuple[int, int]:
    """Top and bottom rows of the coloured header band (read down the left edge)."""
    column = image[:, 4]
    rows = np.flatnonzero(np.all(column == np.array(HEADER, dtype=np.uint8), axis=1))
    assert rows.size, "no header band"
    return int(rows[0]), int(rows[-1])


def name_region(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Where the store name is drawn: the first 100 px of the band below its top padding."""
    top, _ = header_band(image)
    return image[top + 40 : top + 140, MARGIN : WIDTH - MARGIN]


def light(region: NDArray[np.uint8]) -> int:
    return int(np.count_nonzero(region.astype(np.int32).sum(axis=2) > 600))


def test_card_decodes_with_expected_width(font_path: Path) -> None:
    png = render_summary_png(build_summary(sample_input()), font_path=font_path)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = pixels(png)
    assert image.shape[1] == WIDTH
    assert 1200 < image.shape[0] < MAX_HEIGHT
    top, bottom = header_band(image)
    assert top == 0 and bottom > 150


def test_store_name_in_chinese_is_rendered(font_path: Path) -> None:
    named = name_region(
        pixels(render_summary_png(summary_with_store("测试药房"), font_path=font_path))
    )
    blank = name_region(pixels(render_summary_png(summary_with_store(""), font_path=font_path)))
    # white glyphs on the dark band where the name goes, and nothing there without a name
    assert light(named) > 1500
    assert light(blank) == 0
    assert not np.array_equal(named, blank)
    # four distinct glyphs: a different last character changes the pixels (tofu boxes would not)
    other = name_region(
        pixels(render_summary_png(summary_with_store("测试药店"), font_path=font_path))
    )
    assert not np.array_equal(named, other)
    ink_cols = np.flatnonzero((named.astype(np.int32).sum(axis=2) > 600).any(axis=0))
    assert ink_cols.size and ink_cols[-1] - ink_cols[0] > 4 * 40  # four wide CJK glyphs at 56 px


def _glyph(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> NDArray[np.uint8]:
    image = Image.new("L", (96, 96), 0)
    ImageDraw.Draw(image).text((8, 8), text, font=font, fill=255)
    return np.asarray(image)


def test_cjk_glyphs_are_not_tofu(font_path: Path) -> None:
    cjk = ImageFont.truetype(str(font_path), 64, index=0)
    yao = _glyph(cjk, "药")
    assert np.count_nonzero(yao) > 300  # something was drawn
    assert not np.array_equal(yao, _glyph(ImageFont.load_default(64), "药"))  # not the Latin font's
    assert not np.array_equal(yao, _glyph(cjk, "房"))  # distinct characters, distinct glyphs
    assert not np.array_equal(yao, _glyph(cjk, "\u0378"))  # not the font's missing-glyph box


def test_trust_badge_colour_follows_the_score(font_path: Path) -> None:
    def count(image: NDArray[np.uint8], color: tuple[int, int, int]) -> int:
        return int(np.count_nonzero(np.all(image == np.array(color, dtype=np.uint8), axis=2)))

    quiet: dict[str, Any] = {"flags": [], "next_action": None}
    green = pixels(
        render_summary_png(
            build_summary(sample_input(trust_score=92, **quiet)), font_path=font_path
        )
    )
    amber = pixels(
        render_summary_png(
            build_summary(sample_input(trust_score=79, **quiet)), font_path=font_path
        )
    )
    red = pixels(
        render_summary_png(
            build_summary(sample_input(trust_score=49, **quiet)), font_path=font_path
        )
    )
    assert count(green, GREEN) > 15_000 and count(green, AMBER) == count(green, RED) == 0
    assert count(amber, AMBER) > 15_000 and count(amber, GREEN) == count(amber, RED) == 0
    assert count(red, RED) > 15_000 and count(red, GREEN) == count(red, AMBER) == 0


def test_thumbnails_in_a_row(font_path: Path) -> None:
    summary = build_summary(sample_input())
    colors = {"storefront": (220, 30, 30), "shelf": (30, 200, 30), "conversation": (30, 30, 220)}
    thumbs = {kind: jpeg(color) for kind, color in colors.items()}
    with_photos = pixels(render_summary_png(summary, font_path=font_path, thumbnails=thumbs))
    without = pixels(render_summary_png(summary, font_path=font_path))
    assert with_photos.shape[0] > without.shape[0] + 200
    centres = []
    for color in colors.values():
        mask = np.all(np.abs(with_photos.astype(np.int32) - np.array(color)) < 24, axis=2)
        ys, xs = np.nonzero(mask)
        assert ys.size > 40_000, color
        centres.append((float(ys.mean()), float(xs.mean())))
    assert abs(centres[0][0] - centres[2][0]) < 2  # same row
    assert centres[0][1] < centres[1][1] < centres[2][1]  # storefront, shelf, conversation


def test_bad_or_missing_thumbnail_gets_a_placeholder(font_path: Path) -> None:
    summary = build_summary(sample_input())
    thumbs = {"storefront": b"not an image", "shelf": jpeg((30, 200, 30))}
    image = pixels(render_summary_png(summary, font_path=font_path, thumbnails=thumbs))
    placeholder = np.all(image == np.array(PLACEHOLDER, dtype=np.uint8), axis=2)
    assert np.count_nonzero(placeholder) > 2 * 40_000  # storefront (bad) and conversation (none)


def test_english_and_minimal_and_huge_cards(font_path: Path) -> None:
    english = pixels(
        render_summary_png(build_summary(sample_input()), font_path=font_path, locale="en")
    )
    assert english.shape[1] == WIDTH
    minimal = pixels(render_summary_png({}, font_path=font_path))
    assert minimal.shape[1] == WIDTH
    long_text = "很长的备注" * 400 + " " + "x" * 3000
    base = sample_input()
    huge = build_summary(
        replace(
            base,
            store=replace(base.store, name="超长门店名称" * 60, address="地址" * 500),
            answers=[
                SummaryAnswer(f"k{i}", {"zh": f"问题{i}" * 30, "en": "q"}, "text", long_text)
                for i in range(200)
            ],
        )
    )
    image = pixels(render_summary_png(huge, font_path=font_path))
    assert image.shape[1] == WIDTH and image.shape[0] <= MAX_HEIGHT  # capped, not endless
    assert np.all(image[-40:, 4] == np.array(FOOTER, dtype=np.uint8))  # and the footer is there


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [""]),
        ("短", ["短"]),
        ("alpha beta gamma", ["alpha beta", "gamma"]),
    ],
)
def test_wrap_basics(font_path: Path, text: str, expected: list[str]) -> None:
    font = ImageFont.truetype(str(font_path), 20, index=0)
    width = round(font.getlength("alpha beta")) + 2
    assert wrap(text, font, width) == expected


def test_wrap_cjk_and_long_words(font_path: Path) -> None:
    font = ImageFont.truetype(str(font_path), 20, index=0)
    lines = wrap("测试药房，" * 20, font, 200)
    assert all(font.getlength(line) <= 200 + font.getlength("，") for line in lines)
    assert not any(line.startswith("，") for line in lines)  # punctuation never starts a line
    assert "".join(lines) == "测试药房，" * 20
    mixed = wrap("问题0" * 50, font, 200)  # digits glued to CJK still break between characters
    assert len(mixed) > 3 and all(font.getlength(line) <= 200 for line in mixed)
    word = wrap("x" * 500, font, 200)
    assert len(word) > 1 and "".join(word) == "x" * 500
    capped = wrap("字" * 500, font, 200, max_lines=2)
    assert len(capped) == 2 and capped[-1].endswith("…")


# About 620 characters: what a rep types after a long talk with the store manager.
LONG_NOTE = (
    "店长反馈本月感冒药销量比上月下降约两成，主要原因是对面新开的连锁药店在做买二送一活动，"
    "并且店员推荐提成更高。店长希望我们下周三之前送两盒新品样品，同时提供一份阶梯报价，"
    "如果首批订货超过五十盒，希望能给到额外百分之五的返利。另外，收银台旁的陈列位下个月到期，"
    "需要尽快确认续签，否则会被竞品占用。店员小王对我们的产品卖点还不熟悉，建议安排一次"
    "二十分钟的店内培训，时间最好在下午两点到四点之间客流较少的时候。"
) * 3


def _long_summary(note: str | None) -> dict[str, Any]:
    base = sample_input()
    answers = [
        SummaryAnswer(
            f"q{i}",
            {"zh": f"第{i}题", "en": f"Q{i}"},
            "text",
            f"第{i}题的回答：货架第{i}层陈列整齐",
            {"zh": f"第{i}题的回答：货架第{i}层陈列整齐", "en": f"answer {i}"},
        )
        for i in range(12)
    ]
    answers.append(
        SummaryAnswer(
            "notes",
            {"zh": "其他情况", "en": "Other notes"},
            "textarea",
            LONG_NOTE[:400],
            {"zh": LONG_NOTE[:400], "en": LONG_NOTE[:400]},
        )
    )
    action = SummaryNextAction("send_sample", DUE, note)
    return build_summary(replace(base, answers=answers, next_action=action))


def test_a_long_note_and_many_answers_are_all_on_the_card(font_path: Path) -> None:
    """Nothing the rep wrote is dropped: the note and every answer are wrapped in full and the
    card grows to hold them (the card used to keep 4 lines of the note and 8 answers)."""
    summary = _long_summary(LONG_NOTE)
    layout = layout_summary(summary, font_path=font_path)
    text = "".join(layout.lines)
    assert LONG_NOTE in text
    for row in summary["answers"]:
        assert row["display"]["zh"] in text, row["key"]
    assert not layout.cut and not any("另有" in line for line in layout.lines)

    with_note = pixels(render_summary_png(summary, font_path=font_path))
    without = pixels(render_summary_png(_long_summary(None), font_path=font_path))
    assert with_note.shape[0] == layout.height <= MAX_HEIGHT
    note_lines = len(wrap(LONG_NOTE, ImageFont.truetype(str(font_path), 30, index=0), 912))
    assert note_lines > 20
    # every line of the note adds its height (30 px text, 1.42 line spacing)
    assert with_note.shape[0] - without.shape[0] >= note_lines * 42
    english = layout_summary(summary, font_path=font_path, locale="en")
    assert LONG_NOTE in "".join(english.lines) and not english.cut


def test_a_card_too_long_for_one_picture_ends_with_the_link(font_path: Path) -> None:
    base = sample_input()
    summary = build_summary(
        replace(
            base,
            answers=[
                SummaryAnswer(f"k{i}", {"zh": f"问题{i}", "en": "q"}, "textarea", LONG_NOTE)
                for i in range(12)
            ],
        )
    )
    link = "https://doorstep.example.com/visit/0b1e6a4e/summary"
    layout = layout_summary(summary, font_path=font_path, link=link)
    assert layout.cut and layout.height <= MAX_HEIGHT
    assert layout.lines[-2:] == ["内容较长，完整内容见链接：", link]
    assert LONG_NOTE in "".join(layout.lines)  # the first answers are there in full
    image = pixels(render_summary_png(summary, font_path=font_path, link=link))
    assert image.shape[0] == layout.height
    assert np.all(image[-40:, 4] == np.array(FOOTER, dtype=np.uint8))
    plain = layout_summary(summary, font_path=font_path)
    assert plain.lines[-1] == "内容较长，完整内容见 Doorstep 中的这次拜访。"
