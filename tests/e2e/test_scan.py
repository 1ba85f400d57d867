"""The scan screen with a camera (issue 10, "a scanner on every phone"): Chromium's fake camera
plays a video of a real store's printed door code, ``BarcodeDetector`` is removed (as on an
iPhone), so the frames are read by the npm-installed decoder (jsQR, /vendor/jsqr.js). Pointing at
the code lands on that store's check-in, online and offline (the decoder then comes from the
service worker's cache); a refused or missing camera says so and leaves typing the code."""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from backend.main import PWA_DIR
from backend.pwa import VENDOR_FILES, default_node_modules
from tests.e2e.fake_camera import door_code_video
from tests.e2e.helpers import (
    CHROMIUM_ARGS,
    Phone,
    Site,
    chromium_path,
    outbox_items,
    phone_context,
    shot,
    sign_in,
    wait_offline_ready,
)

pytestmark = pytest.mark.e2e

FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# As on a phone without BarcodeDetector (iPhones, Firefox, many Android browsers); and every
# stream the page opens is kept, to check the camera is stopped once the screen is left.
NO_BARCODE_DETECTOR = """
delete window.BarcodeDetector;
window.__streams = [];
if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    window.__streams.push(stream);
    return stream;
  };
}
"""
LIVE_TRACKS = """window.__streams.flatMap((s) => s.getTracks())
    .filter((t) => t.readyState === 'live').length"""
# A camera with a torch (the fake one has none): what getCapabilities() and applyConstraints()
# of a phone's rear camera would say and take.
WITH_TORCH = """
window.__torch = [];
const capabilities = MediaStreamTrack.prototype.getCapabilities;
MediaStreamTrack.prototype.getCapabilities = function () {
  return { ...capabilities.call(this), torch: true };
};
MediaStreamTrack.prototype.applyConstraints = async function (constraints) {
  window.__torch.push(constraints);
};
"""
DECODER_CACHED = "async () => Boolean(await caches.match('/vendor/jsqr.js'))"


@pytest.fixture(scope="module", autouse=True)
def decoder_installed() -> None:
    missing = [
        name
        for name, source in VENDOR_FILES.items()
        if not (default_node_modules(PWA_DIR) / source).is_file()
    ]
    if missing:
        pytest.fail(
            f"{missing} not installed: run `make install` (npm ci at the repository root)",
            pytrace=False,
        )


@pytest.fixture(scope="module")
async def camera_browser(
    browser: Any, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    """Chromium whose camera films store1's door code; the camera is allowed without a prompt."""
    video = door_code_video(
        site.stores["store1"]["qr_url"], tmp_path_factory.mktemp("camera") / "door.y4m"
    )
    instance = await browser.browser_type.launch(
        executable_path=chromium_path(),
        args=[*CHROMIUM_ARGS, *FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}"],
    )
    yield instance
    await instance.close()


@pytest.fixture(scope="module")
async def prompting_browser(browser: Any) -> AsyncIterator[Any]:
    """Chromium with a (fake) camera but a real permission prompt, which headless answers no."""
    instance = await browser.browser_type.launch(
        executable_path=chromium_path(), args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"]
    )
    yield instance
    await instance.close()


Opener = Callable[..., Awaitable[Any]]


@pytest.fixture
async def opener(site: Site) -> AsyncIterator[Opener]:
    """opener(browser, locale=..., camera=True) -> a phone page without BarcodeDetector."""
    contexts: list[Any] = []

    async def open_page(chromium: Any, locale: str = "en-US", camera: bool = True) -> Any:
        permissions = ("geolocation", "camera") if camera else ("geolocation",)
        context = await phone_context(
            chromium, site.base_url, locale=locale, permissions=permissions
        )
        contexts.append(context)
        await context.add_init_script(NO_BARCODE_DETECTOR)
        return await context.new_page()

    yield open_page
    for context in contexts:
        await context.close()


def _token(site: Site) -> str:
    return str(site.stores["store1"]["qr_url"]).rsplit("/q/", 1)[1]


async def _lands_on_check_in(page: Any, site: Site) -> None:
    await page.wait_for_url(f"**/q/{_token(site)}", timeout=10_000)
    await page.wait_for_selector("#store-name")
    assert await page.locator("#store-name").inner_text() == site.stores["store1"]["name"]


async def test_pointing_at_the_door_code_opens_its_check_in(
    camera_browser: Any, opener: Opener, site: Site, artifacts: Path
) -> None:
    page = await opener(camera_browser)
    await sign_in(page, site.reps["online"])
    assert await page.evaluate("'BarcodeDetector' in window") is False
    await page.click("#tabs >> text=Scan")
    await _lands_on_check_in(page, site)
    metrics = await page.evaluate("window.__doorstepScanMetrics")
    assert metrics["decoder"] == "jsqr"
    assert metrics["firstFrameAt"] is not None and metrics["decodedAt"] >= metrics["firstFrameAt"]
    assert await page.evaluate(LIVE_TRACKS) == 0  # the camera went off with the screen
    await page.wait_for_selector("#check-in-button")
    await shot(page, artifacts, "scan-03-check-in-from-camera")


async def test_scanning_offline_uses_the_cached_decoder(
    camera_browser: Any, opener: Opener, site: Site
) -> None:
    page = await opener(camera_browser)
    await sign_in(page, site.reps["offline"])
    await wait_offline_ready(page)
    # The worker caches the decoder once the app is up, never as part of the first load.
    for _ in range(100):
        if await page.evaluate(DECODER_CACHED):
            break
        await page.wait_for_timeout(100)
    assert await page.evaluate(DECODER_CACHED), "the worker did not cache the decoder"

    await page.context.set_offline(True)
    await page.reload()  # a cold start with the network off
    await page.wait_for_selector("text=Offline")
    decoder_responses: list[Any] = []
    page.on("response", lambda r: decoder_responses.append(r) if "/vendor/" in r.url else None)
    await page.click("#tabs >> text=Scan")
    await _lands_on_check_in(page, site)
    assert await page.evaluate("window.__doorstepScanMetrics.decoder") == "jsqr"
    assert decoder_responses and all(r.from_service_worker for r in decoder_responses)

    await page.wait_for_selector("#accuracy")
    await page.click("#check-in-button")
    await page.wait_for_url("**/visit/*")
    kinds = [item["kind"] for item in await outbox_items(page)]
    assert kinds == ["check_in"]  # queued, to be sent once online
    await page.context.set_offline(False)


async def test_a_refused_camera_is_explained_and_typing_stays(
    prompting_browser: Any, opener: Opener, site: Site, artifacts: Path
) -> None:
    page = await opener(prompting_browser, locale="zh-CN", camera=False)
    await sign_in(page, site.reps["geo"])
    await page.click("#tabs >> text=扫码")
    problem = page.locator("#camera-problem")
    await problem.wait_for()
    assert "没有相机权限" in await problem.inner_text()
    assert await page.locator("#camera-start").is_visible()  # to try again once allowed
    assert await page.locator("#scan-view").is_hidden()
    assert "微信" not in await page.locator("#main").inner_text()  # never sent to another app
    await shot(page, artifacts, "scan-02-camera-refused-zh")
    await page.fill("#qr-text", site.stores["store1"]["qr_url"])
    await page.click("#main form button[type=submit]")
    await _lands_on_check_in(page, site)


async def test_no_camera_at_all_leaves_typing_the_code(phone: Phone, site: Site) -> None:
    page = await phone()  # the suite's browser has no camera
    await sign_in(page, site.reps["zh"])
    await page.click("#tabs >> text=Scan")
    problem = page.locator("#camera-problem")
    await problem.wait_for()
    assert "No camera" in await problem.inner_text()
    assert await page.locator("#qr-text").is_visible()


async def test_torch_where_the_camera_has_one_and_camera_off_when_leaving(
    prompting_browser: Any, opener: Opener, site: Site, artifacts: Path
) -> None:
    page = await opener(prompting_browser)  # camera allowed; it films no code
    await page.context.add_init_script(WITH_TORCH)
    await sign_in(page, site.reps["review"])
    await page.click("#tabs >> text=Scan")
    torch = page.locator("#torch")
    await torch.wait_for()
    await page.wait_for_function("window.__doorstepScanMetrics.frames >= 3")
    assert await page.evaluate(LIVE_TRACKS) == 1
    assert await torch.get_attribute("aria-pressed") == "false"
    await torch.click()
    await page.wait_for_function("document.querySelector('#torch').ariaPressed === 'true'")
    assert await page.evaluate("window.__torch") == [{"advanced": [{"torch": True}]}]
    await shot(page, artifacts, "scan-01-camera-with-torch")
    await page.click("#tabs >> text=Today")
    await page.wait_for_selector("#scan-view", state="detached")
    assert await page.evaluate(LIVE_TRACKS) == 0
