"""A fresh machine prints Chinese: with every system font location hidden, the font the project
installs itself (npm, pinned in package.json) sets the poster, read back with pdftotext, and the
summary card, whose pixels show real CJK glyphs (not tofu boxes)."""

import io
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from asgi_lifespan import LifespanManager
from numpy.typing import NDArray
from PIL import Image

from backend.config import Settings
from backend.kit import fonts
from backend.main import create_app
from backend.summaries.png import HEADER, MARGIN, WIDTH, render_summary_png
from tests.factories.stores import Stores
from tests.factories.world import World

NAME = "益丰大药房（五一路店）"
ADDRESS = "湖南省长沙市芙蓉区五一大道 123 号"


@pytest.fixture
def no_system_fonts(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    """Settings for a machine with no CJK font of its own: no system location is searched and
    DOORSTEP_CJK_FONT_PATH is unset, so only the packaged font can be found."""
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", ())
    bare = settings.model_copy(update={"cjk_font_path": None})
    if not fonts.PACKAGED_FONT.is_file():
        pytest.fail(f"{fonts.PACKAGED_FONT} is missing: run `make install` (npm ci)", pytrace=False)
    assert fonts.cjk_font_path(bare) == fonts.PACKAGED_FONT
    return bare


@pytest.fixture
async def fresh_client(no_system_fonts: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(no_system_fonts)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def _pdftotext(pdf: bytes, tmp_path: Path) -> str:
    binary = shutil.which("pdftotext")
    if binary is None:
        pytest.fail("pdftotext is missing: install poppler-utils (`.ci/system-deps`)")
    source = tmp_path / "poster.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(
        [binary, "-enc", "UTF-8", str(source), "-"], capture_output=True, check=True, timeout=60
    )
    return re.sub(r"\s+", "", result.stdout.decode("utf-8"))


async def test_poster_in_chinese_with_only_the_packaged_font(
    fresh_client: httpx.AsyncClient,
    world: World,
    stores: Stores,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = await world.org()
    store = await stores.create(org, name=NAME, address=ADDRESS, code="CS-0001")
    url = f"/api/v1/stores/{store['id']}/poster.pdf"
    response = await fresh_client.get(url, headers=org.admin.headers)
    assert response.status_code == 200, response.text
    pdf = response.content
    # the packaged face, embedded as a TrueType subset
    assert re.search(rb"/BaseFont\s*/[A-Z]{6}\+NotoSansSC-Regular", pdf)
    assert b"/FontFile2" in pdf
    text = _pdftotext(pdf, tmp_path)
    assert "益丰大药房（五一路店）" in text
    assert "五一大道123号" in text
    assert "到店后请用Doorstep扫描此码开始拜访" in text
    batch = await fresh_client.post(
        "/api/v1/stores/posters.pdf", json={"store_ids": [store["id"]]}, headers=org.admin.headers
    )
    assert batch.status_code == 200, batch.text
    assert "益丰大药房" in _pdftotext(batch.content, tmp_path)

    # The control: hide the packaged font too and nothing is left to print with.
    monkeypatch.setattr(fonts, "PACKAGED_FONT", tmp_path / "node_modules" / "gone.ttf")
    missing = await fresh_client.get(url, headers=org.admin.headers)
    assert missing.status_code == 503
    assert missing.json()["code"] == "font_unavailable"


def _name_region(name: str, font_path: Path) -> NDArray[np.uint8]:
    """The card's store-name area (below the header band's top padding), as RGB pixels."""
    png = render_summary_png({"store": {"name": name, "code": "CS-0001"}}, font_path=font_path)
    with Image.open(io.BytesIO(png)) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert np.all(pixels[0:40, 4] == np.array(HEADER, dtype=np.uint8))  # the band starts at 0
    return pixels[40:140, MARGIN : WIDTH - MARGIN]


def _ink(region: NDArray[np.uint8]) -> int:
    """White glyph pixels on the dark band."""
    return int(np.count_nonzero(region.astype(np.int32).sum(axis=2) > 600))


def test_summary_card_in_chinese_with_only_the_packaged_font(no_system_fonts: Settings) -> None:
    font_path = fonts.cjk_font_path(no_system_fonts)
    named = _name_region("益丰大药房", font_path)
    spaces = _name_region(" " * 5, font_path)
    assert _ink(spaces) == 0
    assert _ink(named) > 2000  # five 56 px glyphs drawn
    # Real glyphs, not tofu: with a font lacking them every character would be the same box, so
    # the same five characters in another order, or five missing-glyph boxes, would look alike.
    assert not np.array_equal(named, _name_region("房药大丰益", font_path))
    boxes = _name_region("\u0378" * 5, font_path)
    assert _ink(boxes) > 0 and not np.array_equal(named, boxes)
    columns = np.flatnonzero((named.astype(np.int32).sum(axis=2) > 600).any(axis=0))
    assert columns[-1] - columns[0] > 5 * 45  # five wide CJK glyphs
