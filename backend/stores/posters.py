"""Printable renderings of a store's QR code (pure: bytes in, bytes out; CPU-bound, so callers
run them in a worker thread): PNG and SVG images, and A4 PDF posters with the store's name and
address in Chinese, set in an embedded TrueType CJK font."""

import functools
import hashlib
import io
import threading
from dataclasses import dataclass
from pathlib import Path

import qrcode
import qrcode.constants
import qrcode.image.svg
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from backend.kit.fonts import FIX, CjkFontMissing

INSTRUCTION_ZH = "到店后请用 Doorstep 扫描此码开始拜访"
INSTRUCTION_EN = "Scan this code with Doorstep when you arrive"
GREY = Color(0.35, 0.35, 0.35)


@dataclass(frozen=True)
class PosterData:
    name: str
    address: str
    code: str
    url: str


def _qr(url: str, border: int) -> qrcode.QRCode:  # type: ignore[type-arg]
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=border
    )
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str) -> bytes:
    """A PNG of the code, 10 px per module with the standard 4-module quiet zone."""
    image = _qr(url, border=4).make_image()
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def qr_svg(url: str) -> bytes:
    """An SVG (one path) of the code with a 4-module quiet zone."""
    image = _qr(url, border=4).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    data = image.to_string(encoding="utf-8")
    return data if isinstance(data, bytes) else str(data).encode()


_font_lock = threading.Lock()


@functools.cache
def _register_font(path: str) -> str:
    name = "DoorstepCJK-" + hashlib.sha256(path.encode()).hexdigest()[:12]
    try:
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    except (TTFError, OSError, ValueError) as exc:
        raise CjkFontMissing(f"The CJK font {path} cannot be embedded ({exc}). {FIX}") from exc
    return name


def font_name(font_path: Path) -> str:
    with _font_lock:
        return _register_font(str(font_path))


def render_posters(font_path: Path, pages: list[PosterData]) -> bytes:
    """A PDF with one A4 poster per entry."""
    font = font_name(font_path)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle("Doorstep store posters")
    canvas.setCreator("Doorstep")
    for page in pages:
        _draw_poster(canvas, font, page)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _draw_poster(canvas: Canvas, font: str, page: PosterData) -> None:
    width, height = A4
    margin = 20 * mm
    text_width = width - 2 * margin
    y = height - margin

    # Store name: as large as fits in at most two lines.
    size = 34.0
    lines = _wrap(page.name, font, size, text_width)
    while len(lines) > 2 and size > 14:
        size -= 2
        lines = _wrap(page.name, font, size, text_width)
    canvas.setFillColor(black)
    canvas.setFont(font, size)
    for line in lines[:3]:
        y -= size * 1.15
        canvas.drawCentredString(width / 2, y, line)

    if page.address:
        y -= 6
        canvas.setFont(font, 14)
        canvas.setFillColor(GREY)
        for line in _wrap(page.address, font, 14, text_width)[:3]:
            y -= 18
            canvas.drawCentredString(width / 2, y, line)

    # The code itself: as big as the space left allows, at most 145 mm.
    bottom_reserved = margin + 95
    side = min(145 * mm, y - 12 * mm - bottom_reserved, text_width)
    _draw_qr(canvas, page.url, (width - side) / 2, y - 8 * mm - side, side)
    y = y - 8 * mm - side

    canvas.setFillColor(black)
    canvas.setFont(font, 16)
    y -= 30
    canvas.drawCentredString(width / 2, y, f"门店编号 Store code: {page.code}")
    canvas.setFont(font, 15)
    y -= 28
    canvas.drawCentredString(width / 2, y, INSTRUCTION_ZH)
    canvas.setFont(font, 12)
    y -= 18
    canvas.drawCentredString(width / 2, y, INSTRUCTION_EN)

    canvas.setFont(font, 7)
    canvas.setFillColor(GREY)
    canvas.drawCentredString(width / 2, margin / 2, page.url)


def _draw_qr(canvas: Canvas, url: str, x: float, y: float, side: float) -> None:
    """The code as vector squares (crisp at any print size); ``side`` includes the quiet zone."""
    matrix = _qr(url, border=4).get_matrix()
    count = len(matrix)
    module = side / count
    canvas.setFillColor(black)
    for row_index, row in enumerate(matrix):
        top = y + side - (row_index + 1) * module
        col = 0
        while col < count:
            if not row[col]:
                col += 1
                continue
            start = col
            while col < count and row[col]:
                col += 1
            # A hair of overlap hides anti-aliasing seams between adjacent runs in viewers.
            canvas.rect(
                x + start * module,
                top - 0.01,
                (col - start) * module,
                module + 0.02,
                stroke=0,
                fill=1,
            )


def _wrap(text: str, font: str, size: float, max_width: float) -> list[str]:
    """Greedy wrap for mixed CJK and Latin: CJK breaks anywhere, Latin words at spaces."""
    lines: list[str] = []
    current = ""
    for char in text:
        candidate = current + char
        if pdfmetrics.stringWidth(candidate, font, size) <= max_width or not current:
            current = candidate
            continue
        space = current.rfind(" ")
        if char != " " and char.isascii() and current[-1:].isascii() and space > 0:
            lines.append(current[:space])
            current = current[space + 1 :] + char
        else:
            lines.append(current.rstrip())
            current = char.lstrip()
    if current:
        lines.append(current)
    return lines or [""]
