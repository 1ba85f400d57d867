import io
import re
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from PIL import Image

from backend.config import Settings
from backend.kit import fonts
from backend.main import create_app
from tests.factories.stores import Stores
from tests.factories.world import World

NAME = "老百姓大药房（南京东路店）"
ADDRESS = "上海市黄浦区南京东路 100 号"


def _pdftotext(pdf: bytes, tmp_path: Path) -> str | None:
    binary = shutil.which("pdftotext")
    if binary is None:
        return None
    source = tmp_path / f"{uuid.uuid4().hex}.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(
        [binary, "-enc", "UTF-8", str(source), "-"], capture_output=True, check=True, timeout=60
    )
    return result.stdout.decode("utf-8")


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


async def test_qr_png_and_svg(client: httpx.AsyncClient, world: World, stores: Stores) -> None:
    org = await world.org()
    store = await stores.create(org)
    png = await client.get(f"/api/v1/stores/{store['id']}/qr.png", headers=org.admin.headers)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.headers["cache-control"] == "no-store"
    image = Image.open(io.BytesIO(png.content))
    assert image.format == "PNG"
    assert image.width == image.height
    assert 200 <= image.width <= 1000
    # The quiet zone: the outer 4 modules (40 px) are white.
    pixels = image.convert("L")
    assert all(pixels.getpixel((x, 5)) == 255 for x in range(image.width))

    svg = await client.get(f"/api/v1/stores/{store['id']}/qr.svg", headers=org.admin.headers)
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.headers["cache-control"] == "no-store"
    assert b"<svg" in svg.content[:300]


async def test_poster_pdf_shows_chinese_name(
    client: httpx.AsyncClient, world: World, stores: Stores, tmp_path: Path
) -> None:
    org = await world.org()
    store = await stores.create(org, name=NAME, address=ADDRESS, code="SH-POSTER-1")
    response = await client.get(
        f"/api/v1/stores/{store['id']}/poster.pdf", headers=org.admin.headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert b"/FontFile2" in pdf  # an embedded TrueType font ...
    assert re.search(rb"/BaseFont\s*/[A-Z]{6}\+", pdf)  # ... as a subset
    assert _page_count(pdf) == 1
    text = _pdftotext(pdf, tmp_path)
    if text is None:
        pytest.fail(
            "pdftotext is missing, so the poster's rendered text cannot be checked: install "
            "poppler-utils (`make dev` or `.ci/system-deps` does it)"
        )
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", NAME) in flat
    assert "南京东路100号" in flat
    assert "SH-POSTER-1" in flat
    assert "到店后请用Doorstep扫描此码开始拜访" in flat
    assert "ScanthiscodewithDoorstepwhenyouarrive" in flat


async def test_batch_posters(
    client: httpx.AsyncClient, world: World, stores: Stores, tmp_path: Path
) -> None:
    org, other = await world.org(), await world.org()
    made = [await stores.create(org, name=f"门店{i}号" * (1 + 10 * (i == 2))) for i in range(3)]
    ids = [s["id"] for s in made]
    response = await client.post(
        "/api/v1/stores/posters.pdf",
        json={"store_ids": [*ids, ids[0]]},
        headers=org.admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"%PDF")
    assert _page_count(response.content) == 3
    text = _pdftotext(response.content, tmp_path)
    if text is not None:
        assert "门店1号" in text

    foreign = await stores.create(other)
    bad = await client.post(
        "/api/v1/stores/posters.pdf",
        json={"store_ids": [ids[0], foreign["id"], str(uuid.uuid4())]},
        headers=org.admin.headers,
    )
    assert bad.status_code == 404
    assert [e["pointer"] for e in bad.json()["errors"]] == ["/store_ids/1", "/store_ids/2"]
    bodies: list[dict[str, list[str]]] = [
        {"store_ids": []},
        {"store_ids": [ids[0]] * 501},
        {"store_ids": ["x"]},
    ]
    for body in bodies:
        response = await client.post(
            "/api/v1/stores/posters.pdf", json=body, headers=org.admin.headers
        )
        assert response.status_code == 422
    for actor in (org.rep, org.supervisor):  # posters carry the door code: admins only
        denied = await client.post(
            "/api/v1/stores/posters.pdf", json={"store_ids": ids}, headers=actor.headers
        )
        assert denied.status_code == 403


def test_font_lookup(settings: Settings, tmp_path: Path) -> None:
    fake = tmp_path / "font.ttf"
    fake.write_bytes(b"x")
    assert fonts.cjk_font_path(settings.model_copy(update={"cjk_font_path": fake})) == fake
    with pytest.raises(fonts.CjkFontMissing, match="fonts-wqy-microhei"):
        fonts.cjk_font_path(settings.model_copy(update={"cjk_font_path": tmp_path / "nope.ttf"}))
    with pytest.raises(fonts.CjkFontMissing, match="DOORSTEP_CJK_FONT_PATH"):
        fonts.cjk_font_path(settings, candidates=(str(tmp_path / "none.ttc"),))
    assert fonts.cjk_font_path(settings, candidates=(str(fake),)) == fake


@pytest.fixture
async def fontless_client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database whose configured font does not exist."""
    broken = settings.model_copy(update={"cjk_font_path": tmp_path / "missing.ttc"})
    app = create_app(broken)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_missing_font_is_a_clear_503(
    world: World, stores: Stores, fontless_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    org = await world.org()
    store = await stores.create(org)
    response = await fontless_client.get(
        f"/api/v1/stores/{store['id']}/poster.pdf", headers=org.admin.headers
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "font_unavailable"
    assert "fonts-wqy-microhei" in body["detail"]
    # A file that is not a font: the same clear answer, not a crash.
    not_a_font = tmp_path / "missing.ttc"
    not_a_font.write_bytes(b"definitely not a font")
    response = await fontless_client.get(
        f"/api/v1/stores/{store['id']}/poster.pdf", headers=org.admin.headers
    )
    assert response.status_code == 503, response.text
    # The QR images need no font.
    png = await fontless_client.get(
        f"/api/v1/stores/{store['id']}/qr.png", headers=org.admin.headers
    )
    assert png.status_code == 200
