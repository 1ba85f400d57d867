"""A fake camera for Chromium: a YUV4MPEG2 video of a door code printed on a poster, for
``--use-file-for-fake-video-capture`` (the tests of the scan screen and bench/bench_scan.py).

The frames show a white poster on a door, the QR code of a real store's ``qr_url`` on it, held by a
slightly shaking hand (a few pixels of movement from frame to frame), the way a phone sees a
printed code. Written with Pillow's YCbCr conversion, chroma subsampled to 4:2:0 (``C420``).
"""

from pathlib import Path

import qrcode
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 640, 480
DOOR = (118, 92, 70)
SHAKE = ((0, 0), (2, 1), (3, 3), (1, 4), (-1, 2), (-2, 0))


def poster(url: str, side: int = 250) -> Image.Image:
    """The printed poster: a red header band, the QR code (quiet zone included) and a text line."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=3)
    code.add_data(url)
    code.make(fit=True)
    qr = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    qr = qr.resize((side, side), Image.Resampling.NEAREST)
    sheet = Image.new("RGB", (side + 40, side + 120), (250, 250, 246))
    draw = ImageDraw.Draw(sheet)
    draw.rectangle([0, 0, sheet.width, 44], fill=(196, 40, 40))
    draw.text((14, 14), "Doorstep", fill=(255, 255, 255))
    sheet.paste(qr, (20, 60))
    draw.text((20, side + 80), "Scan this code with Doorstep", fill=(60, 60, 60))
    return sheet


def frame(sheet: Image.Image, dx: int, dy: int) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), DOOR)
    draw = ImageDraw.Draw(image)
    for x in range(0, WIDTH, 80):  # the door's panels
        draw.line([x, 0, x, HEIGHT], fill=(104, 80, 60), width=3)
    image.paste(sheet, ((WIDTH - sheet.width) // 2 + dx, (HEIGHT - sheet.height) // 2 + dy))
    return image


def write_y4m(images: list[Image.Image], path: Path, fps: int = 15) -> Path:
    """Frames as YUV4MPEG2, 4:2:0, progressive, square pixels."""
    width, height = images[0].size
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420\n".encode())
        for image in images:
            y, cb, cr = image.convert("YCbCr").split()
            half = (width // 2, height // 2)
            out.write(b"FRAME\n")
            out.write(y.tobytes())
            out.write(cb.resize(half, Image.Resampling.BOX).tobytes())
            out.write(cr.resize(half, Image.Resampling.BOX).tobytes())
    return path


def door_code_video(url: str, path: Path) -> Path:
    """A few frames of the poster with ``url``'s QR code, shaking a little; Chromium loops them."""
    sheet = poster(url)
    return write_y4m([frame(sheet, dx, dy) for dx, dy in SHAKE], path)


def blank_video(path: Path) -> Path:
    """The door without a poster: a camera that sees no code."""
    return write_y4m([frame(Image.new("RGB", (1, 1), DOOR), dx, dy) for dx, dy in SHAKE], path)
