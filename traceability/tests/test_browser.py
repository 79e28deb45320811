"""Real browser at phone size (360 px): the trace page a buyer opens from the QR code."""
import pytest
from playwright.sync_api import expect

from logistics.tests.factories import StationFactory, agent_at

from .helpers import journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_trace_page_reads_on_a_phone_with_its_qr_code_timeline_and_chart(browser_page):
    station = StationFactory(cold_store=True)
    lot = journey(station, agent_at(station), sensor_readings=40).lot
    page = browser_page
    page.goto(f"{page.base_url}/t/{lot.code}")
    expect(page.get_by_role("heading", level=1)).to_have_text(lot.product.title)
    expect(page.get_by_text("Trace records intact (11 records)")).to_be_visible()
    expect(page.get_by_role("heading", name="From the field to you")).to_be_visible()
    expect(page.get_by_role("img", name="Truck")).to_be_visible()  # the cold chain chart, by its SVG title
    qr = page.get_by_role("img", name=f"QR code of lot {lot.code[:4]}")
    expect(qr).to_be_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", qr.element_handle())
    # The export link is reachable from the keyboard and nothing is wider than the phone.
    page.get_by_role("link", name="Records in EPCIS 2.0 (JSON-LD)").focus()
    expect(page.get_by_role("link", name="Records in EPCIS 2.0 (JSON-LD)")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
