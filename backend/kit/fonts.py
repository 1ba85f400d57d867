"""Finding a CJK font with TrueType outlines for printable output (posters, summary cards).

``DOORSTEP_CJK_FONT_PATH`` wins when set; otherwise well-known system locations are searched.
On Debian/Ubuntu ``apt-get install fonts-wqy-microhei`` provides one.
"""

from pathlib import Path

from backend.config import Settings
from backend.errors import AppError

# In order of preference. TrueType-outline fonts only (reportlab cannot embed CFF/OTF outlines);
# a .ttc collection is read at subfont index 0.
CANDIDATES: tuple[str, ...] = (
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

FIX = (
    "Install a CJK TrueType font (Debian/Ubuntu: `apt-get install fonts-wqy-microhei`) "
    "or set DOORSTEP_CJK_FONT_PATH to a .ttf/.ttc file."
)


class CjkFontMissing(AppError):
    """No usable CJK font: printable output cannot be made (503 ``font_unavailable``)."""

    status, code = 503, "font_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


def cjk_font_path(settings: Settings, candidates: tuple[str, ...] = CANDIDATES) -> Path:
    """The CJK font to embed; raises ``CjkFontMissing`` naming the fix when there is none."""
    if settings.cjk_font_path is not None:
        configured = Path(settings.cjk_font_path)
        if configured.is_file():
            return configured
        raise CjkFontMissing(f"DOORSTEP_CJK_FONT_PATH={configured} is not a file. {FIX}")
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    raise CjkFontMissing(f"No CJK font was found for printable output. {FIX}")
