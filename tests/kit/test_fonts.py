"""Which CJK font printable output uses: DOORSTEP_CJK_FONT_PATH, then the packaged font (pinned
in package.json), then the system locations; and the packaged font is one reportlab can embed."""

import json
import struct
from pathlib import Path

import pytest

from backend.config import Environment, Settings
from backend.kit import fonts

ROOT = Path(__file__).resolve().parents[2]


def _settings(cjk_font_path: Path | None = None) -> Settings:
    return Settings(environment=Environment.test, cjk_font_path=cjk_font_path, _env_file=None)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {}
    for name in ("configured.ttf", "packaged.ttf", "system-1.ttc", "system-2.ttf"):
        made[name] = tmp_path / name
        made[name].write_bytes(b"font")
    return made


def test_configured_path_wins_over_packaged_and_system(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "PACKAGED_FONT", files["packaged.ttf"])
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", (str(files["system-1.ttc"]),))
    configured = files["configured.ttf"]
    assert fonts.cjk_font_path(_settings(configured)) == configured


def test_configured_path_that_is_not_a_file_is_an_error_not_a_fallback(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "PACKAGED_FONT", files["packaged.ttf"])
    with pytest.raises(fonts.CjkFontMissing, match=r"DOORSTEP_CJK_FONT_PATH=.*missing\.ttf"):
        fonts.cjk_font_path(_settings(tmp_path / "missing.ttf"))


def test_packaged_font_comes_before_system_fonts(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "PACKAGED_FONT", files["packaged.ttf"])
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", (str(files["system-1.ttc"]),))
    assert fonts.cjk_font_path(_settings()) == files["packaged.ttf"]


def test_system_fonts_when_the_package_is_not_installed(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "PACKAGED_FONT", tmp_path / "node_modules" / "absent.ttf")
    system = (tmp_path / "not-here.ttc", files["system-1.ttc"], files["system-2.ttf"])
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", tuple(map(str, system)))
    assert fonts.cjk_font_path(_settings()) == files["system-1.ttc"]  # first match wins


def test_nothing_found_names_every_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "PACKAGED_FONT", tmp_path / "absent.ttf")
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", (str(tmp_path / "absent.ttc"),))
    with pytest.raises(fonts.CjkFontMissing) as raised:
        fonts.cjk_font_path(_settings())
    detail = str(raised.value.detail)
    assert raised.value.status == 503 and raised.value.code == "font_unavailable"
    for fix in ("make install", fonts.PACKAGE, "fonts-wqy-microhei", "DOORSTEP_CJK_FONT_PATH"):
        assert fix in detail


def test_search_order_and_explicit_candidates(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "PACKAGED_FONT", files["packaged.ttf"])
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", (str(files["system-1.ttc"]),))
    assert fonts.search_order() == (str(files["packaged.ttf"]), str(files["system-1.ttc"]))
    # explicit candidates replace the whole search (the packaged font included)
    assert (
        fonts.cjk_font_path(_settings(), candidates=(str(files["system-2.ttf"]),))
        == (files["system-2.ttf"])
    )
    with pytest.raises(fonts.CjkFontMissing):
        fonts.cjk_font_path(_settings(), candidates=())


def test_default_order_starts_with_the_packaged_font() -> None:
    assert fonts.CANDIDATES[0] == str(fonts.PACKAGED_FONT)
    assert fonts.CANDIDATES[1:] == fonts.SYSTEM_FONTS
    assert fonts.PACKAGED_FONT.is_relative_to(ROOT / "node_modules" / fonts.PACKAGE)


def test_font_package_is_pinned_exactly() -> None:
    declared = json.loads((ROOT / "package.json").read_text())["dependencies"][fonts.PACKAGE]
    assert declared[0].isdigit() and all(c.isdigit() or c == "." for c in declared), declared
    lock = json.loads((ROOT / "package-lock.json").read_text())
    locked = lock["packages"][f"node_modules/{fonts.PACKAGE}"]
    assert locked["version"] == declared
    assert locked["integrity"].startswith("sha512-")


def _sfnt_tables(path: Path) -> tuple[bytes, set[str]]:
    with path.open("rb") as handle:
        head = handle.read(12)
        count = struct.unpack(">H", head[4:6])[0]
        directory = handle.read(16 * count)
    return head[:4], {directory[16 * i : 16 * i + 4].decode("latin-1") for i in range(count)}


def test_packaged_font_is_installed_static_truetype() -> None:
    """What reportlab can embed: TrueType ``glyf`` outlines (no CFF), one static instance."""
    path = fonts.PACKAGED_FONT
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make install` (npm ci)", pytrace=False)
    version, tables = _sfnt_tables(path)
    assert version == b"\x00\x01\x00\x00"  # TrueType, not 'OTTO' (CFF) nor a collection
    assert {"glyf", "loca", "cmap", "hmtx"} <= tables
    assert not tables & {"CFF ", "CFF2", "fvar"}  # no PostScript outlines, not a variable font
    licence = path.parents[1] / "LICENSE_FONT"
    assert "SIL Open Font License" in licence.read_text()
