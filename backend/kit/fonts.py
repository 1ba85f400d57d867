"""Finding a CJK font with TrueType outlines for printable output (posters, summary cards).

The project installs one itself: Noto Sans SC Regular, a static TrueType (``glyf``) instance
from the npm package :data:`PACKAGE`, pinned in ``package.json``/``package-lock.json`` and put
into ``node_modules/`` by ``npm ci`` (``make install``/``run``/``test``, the Dockerfile). So a
fresh machine prints Chinese without any system font. The order (docs/operations.md, "CJK
fonts"):

1. ``DOORSTEP_CJK_FONT_PATH`` when set (a path that is not a file is an error, not a fallback);
2. the packaged font, :data:`PACKAGED_FONT`: the pinned, tested one, the same on every machine;
3. well-known system locations (:data:`SYSTEM_FONTS`), first match wins: for an install where
   npm never ran.
"""

from pathlib import Path
from typing import Final

from backend.config import Settings
from backend.errors import AppError

# The npm package that ships the font (exact version pinned in package.json).
PACKAGE: Final = "@expo-google-fonts/noto-sans-sc"
# ``node_modules/`` at the repository root, beside ``backend/`` and ``pwa/`` (as backend/pwa.py).
NODE_MODULES: Final = Path(__file__).resolve().parents[2] / "node_modules"
PACKAGED_FONT: Path = NODE_MODULES / PACKAGE / "400Regular" / "NotoSansSC_400Regular.ttf"

# In order of preference. TrueType-outline fonts only (reportlab cannot embed CFF/OTF outlines);
# a .ttc collection is read at subfont index 0.
SYSTEM_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallback.ttf",
    "/usr/share/fonts/google-droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
)

# What is searched after DOORSTEP_CJK_FONT_PATH, in order (as at import; the lookup reads
# PACKAGED_FONT and SYSTEM_FONTS when it runs).
CANDIDATES: tuple[str, ...] = (str(PACKAGED_FONT), *SYSTEM_FONTS)

FIX = (
    f"Run `make install` (npm ci installs the packaged font, {PACKAGE}), "
    "or install a CJK TrueType font (Debian/Ubuntu: `apt-get install fonts-wqy-microhei`), "
    "or set DOORSTEP_CJK_FONT_PATH to a .ttf/.ttc file."
)


class CjkFontMissing(AppError):
    """No usable CJK font: printable output cannot be made (503 ``font_unavailable``)."""

    status, code = 503, "font_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


def search_order() -> tuple[str, ...]:
    """The locations searched after ``DOORSTEP_CJK_FONT_PATH``: packaged, then system."""
    return (str(PACKAGED_FONT), *SYSTEM_FONTS)


def cjk_font_path(settings: Settings, candidates: tuple[str, ...] | None = None) -> Path:
    """The CJK font to embed; raises ``CjkFontMissing`` naming the fix when there is none.

    ``candidates`` replaces :func:`search_order` (the packaged font and the system locations).
    """
    if settings.cjk_font_path is not None:
        configured = Path(settings.cjk_font_path)
        if configured.is_file():
            return configured
        raise CjkFontMissing(f"DOORSTEP_CJK_FONT_PATH={configured} is not a file. {FIX}")
    for candidate in search_order() if candidates is None else candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    raise CjkFontMissing(f"No CJK font was found for printable output. {FIX}")
