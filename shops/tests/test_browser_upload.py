"""A farmer adds a 12-megapixel phone photo on a slow network: made upright and 1600 px in the browser, sent in
resumable parts with a progress bar, the button off meanwhile; a dropped connection resumes where it stopped.

The slow profile is the one rural phones see: 400 ms round trips, 400 kbit/s (50,000 bytes/s) each way. The time
is printed (`pytest -s`); what is asserted is what makes it short: the bytes that cross the network.
"""
import io
import re
import time
from pathlib import Path

import pytest
from django.test import Client
from PIL import Image, ImageChops

from conftest import CHROMIUM, CHROMIUM_ARGS, require_service
from shops.demo_photos import demo_photo
from shops.models import PhotoUpload, ProductImage

from .factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = {"offline": False, "latency": 400, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
# At 50,000 bytes/s, what may cross for the photo to be sent in under 10 s with the round trips.
MAX_SENT = 420_000


def phone_photo(path: Path) -> Path:
    """A 4000x3000 JPEG of about 3.6 MB, as a phone writes it: fine sensor noise over the scene, turned by its EXIF
    orientation (6: the camera was held upright, so the picture is 3000 wide and 4000 high)."""
    scene = Image.open(demo_photo("Fuji apples", 7, size=(1000, 750))).resize((4000, 3000),
                                                                              Image.Resampling.BICUBIC)
    noise = Image.effect_noise((4000, 3000), 6).convert("RGB")
    photo = ImageChops.add(scene, noise, 1.0, -128)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=90, exif=exif)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def farmer_page(live_server, monkeypatch):
    """A phone-sized Chromium signed in as the farmer of a product, on the product's edit page."""
    require_service("Chromium", Path(CHROMIUM).exists())
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    product = ProductFactory()
    client = Client()
    client.force_login(product.shop.owner)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                      locale="en-US", service_workers="block")
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{live_server.url}/seller/products/{product.pk}/")
        try:
            yield page, product
        finally:
            context.close()
            browser.close()


def watch_uploads(page) -> list:
    """Every request of the chunk protocol and of the photo form: (method, path, body bytes, time)."""
    seen = []

    def record(request):
        path = re.sub(r"^https?://[^/]+", "", request.url)
        if path.startswith("/uploads/") or path.endswith("/photos/"):
            # A part's length from its Content-Range (Playwright does not show a Blob body).
            span = re.match(r"bytes (\d+)-(\d+)/", request.headers.get("content-range", ""))
            body = request.post_data_buffer
            size = int(span[2]) - int(span[1]) + 1 if span else len(body or b"")
            seen.append((request.method, path, size, time.monotonic()))

    page.on("request", record)
    return seen


def test_a_phone_photo_goes_up_small_with_progress_and_resumes_after_a_dropped_connection(farmer_page, tmp_path):
    page, product = farmer_page
    original = phone_photo(tmp_path / "IMG_2041.jpg")
    assert 3_300_000 < original.stat().st_size < 4_000_000
    form = page.locator("form[data-photo-upload]").filter(has=page.locator("input[type=file]"))
    button = form.get_by_role("button", name="Upload photos")
    progress = form.locator("[data-upload-progress]")

    # 1. On the slow profile: time from the tap until the photo has arrived and the form goes.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW)
    seen = watch_uploads(page)
    form.locator("input[type=file]").set_input_files(str(original))
    started = time.monotonic()
    button.click()
    assert button.is_disabled()  # a second tap sends nothing twice
    progress.locator("progress").wait_for()
    page.wait_for_url(f"**/seller/products/{product.pk}/#photos", timeout=90_000)
    loaded = time.monotonic()
    cdp.send("Network.emulateNetworkConditions", {**SLOW, "latency": 0, "downloadThroughput": -1,
                                                   "uploadThroughput": -1})
    parts = [s for s in seen if s[1].startswith("/uploads/") and s[0] in ("POST", "PUT")]
    posted = next(s for s in seen if s[0] == "POST" and s[1].endswith("/photos/"))
    sent = sum(s[2] for s in parts)
    print(f"\n{original.stat().st_size / 1e6:.2f} MB 4000x3000 photo on the slow profile: made small in the "
          f"browser in {seen[0][3] - started:.1f} s, {sent / 1e3:.0f} KB sent in {len(parts)} parts; photo arrived "
          f"and form sent {posted[3] - started:.1f} s after the tap; next page loaded after {loaded - started:.1f} s")
    assert sent < MAX_SENT and len(parts) == -(-sent // (256 * 1024))
    assert posted[2] < 2_000  # the form carries the upload id, not the photo
    assert "Photos added: 1." in page.locator("body").inner_text()
    photo = ProductImage.objects.get(product=product)
    # Upright (EXIF orientation applied in the browser) and 1600 px on its longest side.
    assert (photo.width, photo.height) == (1200, 1600)
    assert not PhotoUpload.objects.exists()

    # 2. The connection drops during the upload: it waits, asks the server where it stopped, and goes on.
    seen.clear()
    cdp.send("Network.emulateNetworkConditions", SLOW)
    form = page.locator("form[data-photo-upload]").filter(has=page.locator("input[type=file]"))
    form.locator("input[type=file]").set_input_files(str(original))
    with page.expect_navigation(url=f"**/seller/products/{product.pk}/#photos", timeout=90_000):
        form.get_by_role("button", name="Upload photos").click()
        # Offline while the first part is on its way (about 5 s on this network). Chromium lets a request already
        # sending finish; the next part meets the dead network.
        while not any(s[1] == "/uploads/" for s in seen):
            page.wait_for_timeout(50)
        page.wait_for_timeout(1000)
        # Offline for Playwright's session and for the one that slows the network (each keeps its own conditions).
        page.context.set_offline(True)
        cdp.send("Network.emulateNetworkConditions", {**SLOW, "offline": True})
        form.get_by_text("The connection dropped").wait_for()
        page.wait_for_timeout(1000)
        cdp.send("Network.emulateNetworkConditions", SLOW)
        page.context.set_offline(False)
    page.wait_for_load_state()
    assert "Photos added: 1." in page.locator("body").inner_text()
    assert ProductImage.objects.filter(product=product).count() == 2
    # It asked the server where to go on, and sent no byte twice beyond the part that was cut.
    assert "GET" in {s[0] for s in seen}
    parts = [s for s in seen if s[1].startswith("/uploads/") and s[0] in ("POST", "PUT")]
    print(f"After a dropped connection: {len(parts)} parts sent, {sum(s[2] for s in parts) / 1e3:.0f} KB")
    assert len(parts) <= 3
    assert not PhotoUpload.objects.exists()
