"""The summary card as a PNG a rep forwards in a chat (pure: dict and bytes in, bytes out).

The card is :data:`WIDTH` (1080) pixels wide and as tall as its content: a coloured header band
with the store's name, code, customer type and address; the rep, the local date and time range,
the duration and the distance from the store, next to the trust score as a coloured badge (green
from 80, amber from 50, red below) and the flags raised; the key commitment (next action, due
date and the countdown as it stood at submit); the photo thumbnails in a row; pending items;
profile tags as chips; every answer in form order; a "Doorstep" footer.

Nothing the rep wrote is dropped: the next action's note and every answer wrap in full (a long
text answer gets the card's whole width below its label) and the card grows to fit. Only past
:data:`MAX_HEIGHT` is the card cut, at a line, and then it ends with where the full record is
(the ``link`` given, e.g. the visit's summary in the app) before the footer.
:func:`layout_summary` tells what a card would hold (every line of text, its height, whether it
was cut) without drawing it.

Glyphs come from ``font_path`` (face 0 of a .ttc), which must cover CJK, e.g.
:func:`backend.kit.fonts.cjk_font_path`. CPU-bound: an endpoint runs
:func:`render_summary_png` in a worker thread.
"""

import io
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from PIL import Image, ImageDraw, ImageFont, ImageOps

from backend.summaries.card import as_int, number_text

WIDTH: Final = 1080
MARGIN: Final = 56
CONTENT: Final = WIDTH - 2 * MARGIN
MAX_FLAGS: Final = 6
MAX_TAGS: Final = 18
# A card as tall as 5.5 phone screens still opens as one picture in a chat; past it, the link.
MAX_HEIGHT: Final = 6000
# Kept free at the bottom for the "full record" lines and the footer, whatever came before.
_ENDING: Final = 300
# An answer whose value needs more lines than this beside its label gets the full width.
_SIDE_BY_SIDE_LINES: Final = 3
# Answers typed by the rep: always below their label, at the full width.
_FREE_TEXT: Final = frozenset({"textarea", "string_list", "table"})

BACKGROUND: Final = (255, 255, 255)
HEADER: Final = (22, 78, 99)
HEADER_SUB: Final = (205, 226, 233)
INK: Final = (17, 24, 39)
MUTED: Final = (100, 108, 122)
FAINT: Final = (148, 155, 168)
RULE: Final = (229, 231, 235)
GREEN: Final = (22, 140, 75)
AMBER: Final = (217, 140, 4)
RED: Final = (200, 40, 40)
FLAG_INK: Final = (160, 60, 20)
ACTION_BG: Final = (255, 247, 230)
ACTION_EDGE: Final = (245, 200, 120)
CHIP_BG: Final = (230, 240, 250)
CHIP_INK: Final = (29, 78, 137)
PLACEHOLDER: Final = (236, 238, 241)
FOOTER: Final = (246, 247, 249)

Color = tuple[int, int, int]
Op = Callable[[Image.Image, ImageDraw.ImageDraw], None]

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "trust": "可信度",
        "flags": "风险提示",
        "next_action": "下一步",
        "pending": "待跟进",
        "rectifications": "本次完成整改",
        "tags": "客户标签",
        "answers": "拜访记录",
        "photos": "现场照片",
        "more": "另有 {n} 项",
        "distance": "距门店 {d} 米",
        "accuracy": "定位精度 {a} 米",
        "generated": "提交于 {t}",
        "due_line": "截止：{due}（按提交时计）",
        "weight": "（−{w}）",
        "cut": "内容较长，完整内容见链接：",
        "cut_no_link": "内容较长，完整内容见 Doorstep 中的这次拜访。",
        "storefront": "门头",
        "shelf": "货架",
        "conversation": "沟通",
        "no_action": "未设置下一步",
    },
    "en": {
        "trust": "Trust",
        "flags": "Flags",
        "next_action": "Next action",
        "pending": "Pending",
        "rectifications": "Rectifications fixed",
        "tags": "Customer profile",
        "answers": "Visit notes",
        "photos": "Photos",
        "more": "+{n} more",
        "distance": "{d} m from the store",
        "accuracy": "accuracy {a} m",
        "generated": "Submitted {t}",
        "due_line": "Due {due} (at submit)",
        "weight": " (−{w})",
        "cut": "More than fits on the card; the full record:",
        "cut_no_link": "More than fits on the card; see this visit in Doorstep.",
        "storefront": "Storefront",
        "shelf": "Shelf",
        "conversation": "Conversation",
        "no_action": "No next action",
    },
}

_PHOTO_ORDER: Final = ("storefront", "shelf", "conversation")


def lang_of(locale: str) -> str:
    """``"zh"`` for any Chinese locale, ``"en"`` otherwise."""
    return "zh" if locale.lower().startswith("zh") else "en"


def render_summary_png(
    summary: Mapping[str, Any],
    *,
    font_path: Path,
    locale: str = "zh-CN",
    thumbnails: Mapping[str, bytes] | None = None,
    link: str | None = None,
) -> bytes:
    """The card for a stored summary (see :mod:`backend.summaries.card`) as PNG bytes.

    ``thumbnails`` maps a photo kind to its thumbnail (JPEG/PNG/WebP bytes); kinds the summary
    lists without bytes get a grey placeholder, undecodable bytes too. Without ``thumbnails``
    the photo row is left out. ``link`` is where the full record is read, printed at the end
    of a card too long for :data:`MAX_HEIGHT`.
    """
    card = _laid_out(summary, font_path, locale, thumbnails, link)
    image = card.layout.render()
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


@dataclass(frozen=True)
class CardLayout:
    """What a card holds: each line of text as drawn, top to bottom, and its height."""

    lines: list[str]
    height: int
    cut: bool  # content was left out for MAX_HEIGHT (the card ends with the link)


def layout_summary(
    summary: Mapping[str, Any],
    *,
    font_path: Path,
    locale: str = "zh-CN",
    thumbnails: Mapping[str, bytes] | None = None,
    link: str | None = None,
) -> CardLayout:
    """The card :func:`render_summary_png` would draw, without drawing it."""
    card = _laid_out(summary, font_path, locale, thumbnails, link)
    return CardLayout(list(card.lines), card.layout.height, card.cut)


def _laid_out(
    summary: Mapping[str, Any],
    font_path: Path,
    locale: str,
    thumbnails: Mapping[str, bytes] | None,
    link: str | None,
) -> "_Card":
    card = _Card(_Fonts(font_path), lang_of(locale), summary)
    card.header()
    card.meta_and_trust()
    card.flags()
    card.next_action()
    if thumbnails is not None:
        card.photos(thumbnails)
    card.pending()
    card.rectifications()
    card.tags()
    card.answers()
    card.ending(link)
    card.footer()
    return card


# --- fonts and text ------------------------------------------------------------------------------

_cache = threading.local()


class _Fonts:
    """FreeType faces are not shared between threads: one cache per worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, size: int) -> ImageFont.FreeTypeFont:
        cache: dict[tuple[str, int], ImageFont.FreeTypeFont] | None = getattr(_cache, "fonts", None)
        if cache is None:
            cache = _cache.fonts = {}
        key = (str(self.path), size)
        font = cache.get(key)
        if font is None:
            if len(cache) > 32:
                cache.clear()
            font = cache[key] = ImageFont.truetype(str(self.path), size, index=0)
        return font


_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.,:;!?%'’/()+\-]*|\s+|.")
_NO_LINE_START: Final = set("，。、；：！？）」』】》〉,.;:!?)]}%…·")
_ELLIPSIS: Final = "…"


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int = 0) -> list[str]:
    """Greedy wrapping: CJK breaks between characters, Latin between words (a word longer than
    the line breaks between characters); closing punctuation never starts a line. With
    ``max_lines`` the last kept line ends in an ellipsis when text was cut."""
    lines: list[str] = []
    limit = max_lines + 1 if max_lines else 0  # one more line tells that text was cut
    for paragraph in str(text).replace("\r", "").split("\n"):
        lines.extend(_wrap_paragraph(paragraph, font, width, limit - len(lines) if limit else 0))
        if limit and len(lines) >= limit:
            break
    if not lines:
        lines = [""]
    if max_lines and len(lines) > max_lines:
        kept = lines[:max_lines]
        last = kept[-1].rstrip()
        while last and font.getlength(last + _ELLIPSIS) > width:
            last = last[:-1]
        kept[-1] = last + _ELLIPSIS
        return kept
    return lines


def _wrap_paragraph(
    text: str, font: ImageFont.FreeTypeFont, width: int, limit: int = 0
) -> list[str]:
    """At most ``limit`` lines (0: all); stops measuring once that many are full."""
    lines: list[str] = []
    line = ""
    for match in _TOKEN_RE.finditer(text):
        if limit and len(lines) >= limit:
            return lines[:limit]
        token = match.group()
        if token.isspace():
            if line:
                line += " "
            continue
        candidate = line + token
        if font.getlength(candidate) <= width or (line and token[0] in _NO_LINE_START):
            line = candidate
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = ""
        if font.getlength(token) <= width:
            line = token
            continue
        for char in token:  # a word wider than the line
            if line and font.getlength(line + char) > width:
                lines.append(line)
                line = ""
                if limit and len(lines) >= limit:
                    return lines
            line += char
    if line.strip():
        lines.append(line.rstrip())
    return lines[:limit] if limit else lines


def _line_height(size: int) -> int:
    return round(size * 1.42)


# --- layout --------------------------------------------------------------------------------------


@dataclass
class _Layout:
    """Drawing operations recorded top to bottom, replayed once the height is known."""

    ops: list[Op] = field(default_factory=list)
    y: int = 0

    def add(self, op: Op) -> None:
        self.ops.append(op)

    @property
    def height(self) -> int:
        return max(1, min(self.y, MAX_HEIGHT))

    def render(self) -> Image.Image:
        image = Image.new("RGB", (WIDTH, self.height), BACKGROUND)
        draw = ImageDraw.Draw(image)
        for op in self.ops:
            op(image, draw)
        return image


class _Card:
    def __init__(self, fonts: _Fonts, lang: str, summary: Mapping[str, Any]) -> None:
        self.font = fonts
        self.lang = lang
        self.t = _TEXTS[lang]
        self.s = summary
        self.layout = _Layout()
        self.lines: list[str] = []  # every line of text drawn, in order
        # Content stops here so the ending and the footer always fit under MAX_HEIGHT.
        self.limit = MAX_HEIGHT - _ENDING
        self.cut = False

    # small helpers

    def _pick(self, label: Any) -> str:
        if isinstance(label, Mapping):
            other = "en" if self.lang == "zh" else "zh"
            return str(label.get(self.lang) or label.get(other) or "")
        return "" if label is None else str(label)

    def _text(
        self,
        x: int,
        text: str,
        size: int,
        color: Color,
        *,
        width: int = CONTENT,
        max_lines: int = 0,
        bold: bool = False,
        advance: bool = True,
    ) -> int:
        """Wrapped text at (x, current y); returns the height used.

        Lines that would pass the content limit are left out (the last kept one ends in an
        ellipsis) and the card is marked cut: nothing more is drawn but its ending.
        """
        if self.cut:
            return 0
        font = self.font(size)
        lines = wrap(text, font, width, max_lines)
        top, step = self.layout.y, _line_height(size)
        room = max(0, (self.limit - top) // step)
        if len(lines) > room:
            lines = lines[:room]
            if lines:
                last = lines[-1]
                while last and font.getlength(last + _ELLIPSIS) > width:
                    last = last[:-1]
                lines[-1] = last + _ELLIPSIS
            self.cut = True
        if not lines:
            return 0
        self.lines.extend(lines)
        stroke = 1 if bold else 0

        def op(_: Image.Image, draw: ImageDraw.ImageDraw) -> None:
            for i, line in enumerate(lines):
                draw.text(
                    (x, top + i * step + round(size * 0.12)),
                    line,
                    font=font,
                    fill=color,
                    stroke_width=stroke,
                    stroke_fill=color,
                )

        self.layout.add(op)
        used = step * len(lines)
        if advance:
            self.layout.y += used
        return used

    def _gap(self, pixels: int) -> None:
        self.layout.y += pixels

    def _rule(self, width: int = 2) -> None:
        y = self.layout.y
        self.layout.add(lambda _, d: d.line((MARGIN, y, WIDTH - MARGIN, y), fill=RULE, width=width))
        self.layout.y += width

    def _fits(self, height: int) -> bool:
        """Whether ``height`` more pixels fit above the content limit; if not, the card is cut."""
        if not self.cut and self.layout.y + height > self.limit:
            self.cut = True
        return not self.cut

    def _section(self, title: str, first: int = 0) -> bool:
        """A section's rule and title, if they and ``first`` pixels of its content still fit."""
        if not self._fits(28 + 2 + 24 + _line_height(26) + 8 + first):
            return False
        self._gap(28)
        self._rule()
        self._gap(24)
        self._text(MARGIN, title, 26, MUTED, bold=True)
        self._gap(8)
        return True

    # sections

    def header(self) -> None:
        store = self.s.get("store") or {}
        band_top = self.layout.y
        start = len(self.layout.ops)
        self._gap(48)
        name = str(store.get("name") or "")
        self._text(MARGIN, name or " ", 56, (255, 255, 255), max_lines=2, bold=True)
        self._gap(10)
        sub = " · ".join(
            part
            for part in (
                str(store.get("code") or ""),
                self._pick((store.get("customer_type") or {}).get("name")),
            )
            if part
        )
        if sub:
            self._text(MARGIN, sub, 30, HEADER_SUB, max_lines=1)
        address = str(store.get("address") or "")
        if address:
            self._gap(4)
            self._text(MARGIN, address, 28, HEADER_SUB, max_lines=2)
        self._gap(40)
        bottom = self.layout.y
        self.layout.ops.insert(
            start, lambda _, d: d.rectangle((0, band_top, WIDTH, bottom - 1), fill=HEADER)
        )

    def meta_and_trust(self) -> None:
        self._gap(36)
        top = self.layout.y
        badge_w, badge_h = 200, 132
        left_w = CONTENT - badge_w - 32
        rep = str((self.s.get("rep") or {}).get("display_name") or "")
        self._text(MARGIN, rep or "—", 40, INK, width=left_w, max_lines=1, bold=True)
        self._gap(6)
        local = self.s.get("local") or {}
        when = " ".join(str(p) for p in (local.get("date"), local.get("time_range")) if p)
        duration = self._pick(self.s.get("duration"))
        self._text(MARGIN, " · ".join(p for p in (when, duration) if p), 30, INK, width=left_w)
        self._gap(4)
        where = []
        if self.s.get("distance_m") is not None:
            where.append(self.t["distance"].format(d=number_text(self.s["distance_m"])))
        if self.s.get("accuracy_m") is not None:
            where.append(self.t["accuracy"].format(a=number_text(self.s["accuracy_m"])))
        if where:
            self._text(MARGIN, " · ".join(where), 26, MUTED, width=left_w)
        self.layout.y = max(self.layout.y, top + badge_h)

        trust = self.s.get("trust") or {}
        score = as_int(trust.get("score"))
        color = GREEN if score >= 80 else AMBER if score >= 50 else RED
        big, small = self.font(64), self.font(26)
        bx = WIDTH - MARGIN - badge_w
        label = self.t["trust"]

        def badge(_: Image.Image, d: ImageDraw.ImageDraw) -> None:
            d.rounded_rectangle((bx, top, bx + badge_w, top + badge_h), radius=24, fill=color)
            cx = bx + badge_w // 2
            d.text((cx, top + 62), str(score), font=big, fill=(255, 255, 255), anchor="ms")
            d.text((cx, top + 108), label, font=small, fill=(255, 255, 255), anchor="ms")

        self.layout.add(badge)

    def flags(self) -> None:
        flags = list((self.s.get("trust") or {}).get("flags") or [])
        if not flags or not self._section(self.t["flags"]):
            return
        for flag in flags[:MAX_FLAGS]:
            detail = self._pick(flag.get("detail")) or str(flag.get("code") or "")
            text = detail + self.t["weight"].format(w=flag.get("weight"))
            self._bullet(text, FLAG_INK, 28, max_lines=2)
        if len(flags) > MAX_FLAGS:
            self._text(MARGIN + 28, self.t["more"].format(n=len(flags) - MAX_FLAGS), 26, MUTED)

    def _bullet(self, text: str, color: Color, size: int, *, max_lines: int) -> None:
        if not self._fits(_line_height(size)):
            return
        y = self.layout.y + round(_line_height(size) / 2)
        self.layout.add(lambda _, d: d.ellipse((MARGIN + 2, y - 5, MARGIN + 12, y + 5), fill=color))
        self._text(MARGIN + 28, text, size, color, width=CONTENT - 28, max_lines=max_lines)
        self._gap(4)

    def next_action(self) -> None:
        action = self.s.get("next_action")
        if not self._section(self.t["next_action"], 2 * 28 + 2 * _line_height(40)):
            return
        if not isinstance(action, Mapping):
            self._text(MARGIN, self.t["no_action"], 30, MUTED)
            return
        pad = 28
        box_top = self.layout.y
        start = len(self.layout.ops)
        self._gap(pad)
        inner = CONTENT - 2 * pad
        countdown = action.get("countdown") or {}
        overdue = bool(countdown.get("overdue"))
        pill_text = self._pick(countdown.get("text"))
        pill_font = self.font(30)
        pill_w = round(pill_font.getlength(pill_text)) + 40 if pill_text else 0
        title_w = inner - pill_w - 20
        title_top = self.layout.y
        self._text(
            MARGIN + pad,
            self._pick(action.get("type_label")) or str(action.get("type") or ""),
            40,
            INK,
            width=title_w,
            max_lines=1,
            bold=True,
        )
        if pill_text:
            px = WIDTH - MARGIN - pad - pill_w
            pill_color = RED if overdue else AMBER

            def pill(_: Image.Image, d: ImageDraw.ImageDraw) -> None:
                d.rounded_rectangle(
                    (px, title_top + 2, px + pill_w, title_top + 54), radius=27, fill=pill_color
                )
                d.text(
                    (px + pill_w // 2, title_top + 28),
                    pill_text,
                    font=pill_font,
                    fill=(255, 255, 255),
                    anchor="mm",
                )

            self.layout.add(pill)
        self._gap(6)
        due = str(action.get("due_local") or action.get("due_at") or "")
        self._text(MARGIN + pad, self.t["due_line"].format(due=due), 28, MUTED, width=inner)
        note = str(action.get("note") or "").strip()
        if note:
            self._gap(8)
            self._text(MARGIN + pad, note, 30, INK, width=inner)
        self._gap(pad)
        bottom = self.layout.y
        self.layout.ops.insert(
            start,
            lambda _, d: d.rounded_rectangle(
                (MARGIN, box_top, WIDTH - MARGIN, bottom),
                radius=20,
                fill=ACTION_BG,
                outline=ACTION_EDGE,
                width=2,
            ),
        )

    def photos(self, thumbnails: Mapping[str, bytes]) -> None:
        listed = self.s.get("photos") or {}
        kinds = [k for k in _PHOTO_ORDER if k in listed or k in thumbnails]
        kinds += [k for k in thumbnails if k not in kinds]
        kinds = kinds[:3]
        gap = 16
        cell_w = (CONTENT - 2 * gap) // 3
        cell_h = cell_w * 3 // 4
        if not kinds or not self._section(self.t["photos"], cell_h + 12 + _line_height(26)):
            return
        top = self.layout.y
        caption_font = self.font(26)
        for i, kind in enumerate(kinds):
            x = MARGIN + i * (cell_w + gap)
            tile = _thumbnail(thumbnails.get(kind), cell_w, cell_h)
            caption = self.t.get(kind, kind)

            def paste(
                image: Image.Image,
                d: ImageDraw.ImageDraw,
                x: int = x,
                tile: Image.Image = tile,
                caption: str = caption,
            ) -> None:
                mask = Image.new("L", tile.size, 0)
                ImageDraw.Draw(mask).rounded_rectangle(
                    (0, 0, tile.width - 1, tile.height - 1), radius=16, fill=255
                )
                image.paste(tile, (x, top), mask)
                d.text((x, top + cell_h + 12), caption, font=caption_font, fill=MUTED)

            self.layout.add(paste)
        self.layout.y = top + cell_h + 12 + _line_height(26)

    def pending(self) -> None:
        groups = [g for g in (self.s.get("pending") or []) if g.get("items")]
        if not groups or not self._section(self.t["pending"]):
            return
        sep = "、" if self.lang == "zh" else ", "
        for group in groups[:4]:
            self._text(MARGIN, self._pick(group.get("label")), 28, INK, bold=True)
            self._gap(2)
            items = sep.join(str(i) for i in group.get("items") or [])
            self._text(MARGIN, items, 30, INK, max_lines=3)
            self._gap(10)

    def rectifications(self) -> None:
        fixed = list(self.s.get("rectifications") or [])
        if not fixed or not self._section(self.t["rectifications"]):
            return
        for item in fixed[:6]:
            self._bullet(self._pick(item.get("title")), INK, 30, max_lines=2)

    def tags(self) -> None:
        tags = list(self.s.get("profile_tags") or [])[:MAX_TAGS]
        font = self.font(28)
        height, pad_x, gap = 52, 22, 14
        if not tags or not self._section(self.t["tags"], height):
            return
        x, y = MARGIN, self.layout.y
        for tag in tags:
            text = self._pick(tag.get("label")) or str(tag.get("tag") or "")
            text = wrap(text, font, CONTENT - 2 * pad_x, 1)[0]
            w = round(font.getlength(text)) + 2 * pad_x
            if x > MARGIN and x + w > WIDTH - MARGIN:
                if y + 2 * height + gap > self.limit:
                    self.cut = True
                    break
                x, y = MARGIN, y + height + gap
            self.lines.append(text)

            def chip(
                _: Image.Image, d: ImageDraw.ImageDraw, x: int = x, y: int = y, text: str = text
            ) -> None:
                w = round(font.getlength(text)) + 2 * pad_x
                d.rounded_rectangle((x, y, x + w, y + height), radius=height // 2, fill=CHIP_BG)
                d.text((x + pad_x, y + height // 2), text, font=font, fill=CHIP_INK, anchor="lm")

            self.layout.add(chip)
            x += w + gap
        self.layout.y = y + height

    def answers(self) -> None:
        rows = list(self.s.get("answers") or [])
        if not rows or not self._section(self.t["answers"], _line_height(28)):
            return
        label_w = 330
        value_x = MARGIN + label_w + 24
        value_w = WIDTH - MARGIN - value_x
        value_font = self.font(28)
        for index, row in enumerate(rows):
            if self.cut or not self._fits(24 + _line_height(28)):
                break
            if index:
                self._gap(12)
                self._rule(1)
                self._gap(11)
            label = self._pick(row.get("label"))
            value = self._pick(row.get("display")) or "—"
            stacked = (
                str(row.get("type")) in _FREE_TEXT
                or len(wrap(value, value_font, value_w)) > _SIDE_BY_SIDE_LINES
            )
            if stacked:
                # What the rep typed reads best as a paragraph: label above, full width below.
                self._text(MARGIN, label, 28, MUTED)
                self._gap(4)
                self._text(MARGIN, value, 28, INK)
                continue
            top = self.layout.y
            used_label = self._text(
                MARGIN, label, 28, MUTED, width=label_w, max_lines=2, advance=False
            )
            used_value = self._text(value_x, value, 28, INK, width=value_w, advance=False)
            self.layout.y = top + max(used_label, used_value)

    def ending(self, link: str | None) -> None:
        """Where the full record is, when the card had to leave something out."""
        if not self.cut:
            return
        self.cut = False  # the reserved space below the limit is this ending's
        self.limit = MAX_HEIGHT - 36 - 96
        self._gap(28)
        self._rule()
        self._gap(20)
        self._text(MARGIN, self.t["cut"] if link else self.t["cut_no_link"], 28, INK, bold=True)
        if link:
            self._gap(4)
            self._text(MARGIN, link, 26, CHIP_INK, max_lines=2)
        self.cut = True

    def footer(self) -> None:
        self._gap(36)
        top = self.layout.y
        band_h = 96
        brand, small = self.font(32), self.font(24)
        local = self.s.get("local") or {}
        stamp = self.t["generated"].format(t=local.get("checked_out") or "")

        def op(_: Image.Image, d: ImageDraw.ImageDraw) -> None:
            d.rectangle((0, top, WIDTH, top + band_h), fill=FOOTER)
            d.line((0, top, WIDTH, top), fill=RULE, width=2)
            mid = top + band_h // 2
            d.text(
                (MARGIN, mid),
                "Doorstep",
                font=brand,
                fill=HEADER,
                anchor="lm",
                stroke_width=1,
                stroke_fill=HEADER,
            )
            d.text((WIDTH - MARGIN, mid), stamp, font=small, fill=FAINT, anchor="rm")

        self.layout.add(op)
        self.layout.y = top + band_h


def _thumbnail(data: bytes | None, width: int, height: int) -> Image.Image:
    if data:
        try:
            with Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP"]) as source:
                if source.width * source.height <= 40_000_000:
                    source.draft("RGB", (width, height))
                    image = ImageOps.exif_transpose(source).convert("RGB")
                    return ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)
        except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
            pass
    return Image.new("RGB", (width, height), PLACEHOLDER)
