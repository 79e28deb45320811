"""The installable station: the service worker at the root, the manifest, the offline page, the queue bar."""
import pytest
from django.contrib.staticfiles import finders

from accounts.tests.factories import BuyerFactory
from logistics.tests.factories import StationFactory, agent_at, departed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _card_payments_on(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"


def test_the_service_worker_is_served_from_the_root_never_kept_and_knows_the_shell(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    code = response.content.decode()
    assert code.startswith("var SW = {") and '"offline": "/offline/"' in code and "/static/css/site.css" in code
    assert 'self.addEventListener("fetch"' in code
    # Unchanged: a 304, so the browser's check on every visit costs no body.
    assert client.get("/sw.js", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert client.post("/sw.js").status_code == 405


def test_the_manifest_makes_the_station_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    data = response.json()
    assert (data["start_url"], data["display"], data["scope"]) == ("/agent/", "standalone", "/")
    assert data["name"] == "Farmgate station"
    for icon in data["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in data["icons"]}


def test_the_offline_page_carries_nobodys_data(client):
    response = client.get("/offline/")
    assert response.status_code == 200
    assert "No connection" in response.content.decode()
    assert "csrfmiddlewaretoken" not in response.content.decode()


def test_every_page_registers_the_worker_and_agents_get_the_manifest(client):
    station = StationFactory()
    agent = agent_at(station)
    client.force_login(BuyerFactory())
    page = client.get("/").content.decode()
    assert 'data-sw="/sw.js"' in page and 'rel="manifest"' not in page
    client.force_login(agent)
    page = client.get("/agent/").content.decode()
    assert 'data-sw="/sw.js"' in page and 'rel="manifest" href="/manifest.webmanifest"' in page


def test_the_agent_pages_show_the_queue_and_mark_the_forms_that_can_wait(client):
    station = StationFactory()
    agent = agent_at(station)
    shipment, (parcel,) = departed(station, agent)
    client.force_login(agent)
    home = client.get("/agent/").content.decode()
    assert 'id="offline-queue"' in home and "Waiting to send:" in home and "data-pending>0<" in home
    assert 'data-offline-kind="receive"' in home and 'data-url="/api/v1/agent/actions/"' in home
    assert "js/station-offline.js" in home
    parcel_page = client.get(f"/agent/parcels/{parcel.code}/").content.decode()
    assert f'data-offline-kind="deliver" data-offline-parcel="{parcel.code}"' in parcel_page
    shipment_page = client.get(f"/agent/shipments/{shipment.pk}/").content.decode()
    assert 'data-offline-kind="shipment_event"' in shipment_page and 'id="offline-queue"' in shipment_page
    assert 'id="offline-queue"' in client.get("/agent/shipments/").content.decode()
