"""Real Chromium at 360 px: the agent's station works offline, and the queue is applied once when back online."""
import time

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from logistics.models import Parcel, StationAction, TrackingEvent
from logistics.tests.factories import StationFactory, agent_at, departed, handed_over

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
P = Parcel.Status

STORED_ACTIONS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("farmgate-station", 1);
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const read = open.result.transaction("actions").objectStore("actions").getAll();
    read.onsuccess = () => { open.result.close(); resolve(read.result); };
  };
})"""

REPOST = """async (actions) => {
  const token = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/)[1];
  const response = await fetch("/api/v1/agent/actions/", {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": token},
    body: JSON.stringify({actions: actions.map(a => ({id: a.id, kind: a.kind, args: a.args}))})});
  return [response.status, await response.json()];
}"""

# A function, not a bare expression: Playwright evaluates a bare expression with eval(), which the pages'
# Content-Security-Policy (no 'unsafe-eval') refuses.
CONTROLLED = "() => navigator.serviceWorker.controller !== null"

KEPT_AGENT_PAGES = """() => caches.open("farmgate-agent").then(c => c.keys())
  .then(keys => keys.map(k => new URL(k.url).pathname))"""


@pytest.fixture(autouse=True)
def _card_payments_on(settings):
    # Card orders are marked paid as the webhook would; no call reaches Stripe here.
    settings.STRIPE_SECRET_KEY = "sk_test_x"


def wait_until(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def receive_offline(page, code: str, pending: int) -> None:
    page.get_by_label("Parcel code").fill(code)
    page.get_by_role("button", name="Receive", exact=True).click()
    expect(page.locator("[data-pending]")).to_have_text(str(pending))


def snapshot() -> tuple:
    return (sorted(Parcel.objects.values_list("pk", "status")), TrackingEvent.objects.count(),
            sorted(StationAction.objects.values_list("client_id", "status")))


def test_the_station_works_offline_and_the_queue_is_applied_once(browser_page, live_server):
    station = StationFactory(name="国路夼村服务站")
    agent = agent_at(station)
    arriving = [handed_over(station) for _ in range(4)]
    online_one = handed_over(station)
    _shipment, (out, second) = departed(station, agent, count=2)
    page, context = browser_page, browser_page.context
    base = page.base_url
    assert base.startswith(("http://localhost", "http://127.0.0.1"))  # a secure context for the service worker

    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/profile/")
    # The parcel to deliver is opened once online, as the agent does when it leaves; then the station.
    page.goto(f"{base}/agent/parcels/{out.code}/")
    page.wait_for_function("() => navigator.serviceWorker.ready.then(r => Boolean(r.active))", timeout=20000)
    page.goto(base + "/agent/")
    page.wait_for_function(CONTROLLED)
    expect(page.locator("[data-pending]")).to_have_text("0")
    # Online, the form posts as it always did: nothing is queued.
    page.get_by_label("Parcel code").fill(online_one.code)
    page.get_by_role("button", name="Receive", exact=True).click()
    expect(page.get_by_text(f"Parcel {online_one.code} received.")).to_be_visible()
    assert Parcel.objects.get(pk=online_one.pk).status == P.RECEIVED and not StationAction.objects.exists()
    # The station's pages are kept on the phone (the worker fetched the main ones for later).
    kept = wait_until(lambda: {"/agent/", f"/agent/parcels/{out.code}/", "/agent/shipments/"}
                      <= set(page.evaluate(KEPT_AGENT_PAGES)))
    assert kept, page.evaluate(KEPT_AGENT_PAGES)
    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert manifest["start_url"] == "/agent/" and manifest["display"] == "standalone"

    # Offline: three parcels received and one delivered by code, through the pages. They wait on the phone.
    context.set_offline(True)
    for n, parcel in enumerate(arriving[:3], start=1):
        receive_offline(page, parcel.code, n)
    expect(page.get_by_text("Saved on this phone")).to_be_visible()
    page.goto(f"{base}/agent/parcels/{out.code}/")  # no network: the kept copy
    page.get_by_label("Delivery code").fill(out.delivery_code)
    page.get_by_role("button", name="Confirm delivery").click()
    expect(page.locator("[data-pending]")).to_have_text("4")
    assert Parcel.objects.filter(pk__in=[p.pk for p in arriving], status=P.EXPECTED).count() == 4
    assert Parcel.objects.get(pk=out.pk).status == P.IN_TRANSIT and not StationAction.objects.exists()
    stored = page.evaluate(STORED_ACTIONS)
    assert sorted(a["kind"] for a in stored) == ["deliver", "receive", "receive", "receive"]

    page.goto(base + "/agent/")  # still opens, from the phone
    page.reload()
    expect(page.get_by_role("heading", name="国路夼村服务站")).to_be_visible()
    expect(page.locator("[data-pending]")).to_have_text("4")
    expect(page.locator("#offline-results .is-waiting")).to_have_count(4)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    send_now = page.get_by_role("button", name="Send now").bounding_box()
    assert send_now["height"] >= 44 and send_now["width"] >= 44

    # Back online: the queue goes by itself, each action applied once.
    context.set_offline(False)
    expect(page.locator("[data-pending]")).to_have_text("0")
    expect(page.locator("#offline-results .is-applied")).to_have_count(4)
    expect(page.locator("#offline-results .is-applied").filter(has_text=f"Parcel {out.code} is delivered.")
           ).to_be_visible()
    assert Parcel.objects.filter(pk__in=[p.pk for p in arriving[:3]], status=P.RECEIVED).count() == 3
    assert Parcel.objects.get(pk=out.pk).status == P.DELIVERED
    for parcel in arriving[:3]:
        assert TrackingEvent.objects.filter(parcel=parcel, kind="received", actor=agent).count() == 1
    assert TrackingEvent.objects.filter(parcel=out, kind="delivered").count() == 1
    assert sorted(StationAction.objects.values_list("client_id", "status")) == sorted(
        (a["id"], "applied") for a in stored)

    # The same queue sent again changes nothing: every action is a duplicate.
    before = snapshot()
    status, body = page.evaluate(REPOST, stored)
    assert status == 200 and [r["status"] for r in body["results"]] == ["duplicate"] * 4
    assert snapshot() == before

    # A conflict is reported for its action alone; the others apply.
    context.set_offline(True)
    receive_offline(page, arriving[0].code, 1)  # already received
    receive_offline(page, arriving[3].code, 2)
    page.goto(f"{base}/agent/parcels/{second.code}/")
    page.get_by_label("Delivery code").fill("000000" if second.delivery_code != "000000" else "111111")
    page.get_by_role("button", name="Confirm delivery").click()
    expect(page.locator("[data-pending]")).to_have_text("3")
    # Back online while the server fails: the queue's own sending is refused and nothing is lost; then
    # "Send now" sends it (the server failing first keeps the click from racing the queue's own sending).
    actions_url = "**/api/v1/agent/actions/"
    page.route(actions_url, lambda route: route.fulfill(status=503, body="{}"))
    context.set_offline(False)
    expect(page.get_by_text("Sending failed; it is tried again soon.")).to_be_visible()
    expect(page.locator("[data-pending]")).to_have_text("3")
    assert not StationAction.objects.filter(status="rejected").exists()
    page.unroute(actions_url)
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("[data-pending]")).to_have_text("0")
    refused = page.locator("#offline-results .is-rejected")
    expect(refused).to_have_count(2)
    expect(refused.first).to_contain_text("already received")
    expect(refused.first).to_be_visible()
    expect(refused.nth(1)).to_contain_text("delivery code is wrong")
    expect(page.locator("#offline-results .is-applied").first).to_contain_text(arriving[3].code)
    assert Parcel.objects.get(pk=arriving[3].pk).status == P.RECEIVED
    assert Parcel.objects.get(pk=second.pk).status == P.IN_TRANSIT
    assert StationAction.objects.filter(status="rejected").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 360



CATALOGUE_KEPT = """() => caches.open("farmgate-pages").then(c => c.keys())
  .then(keys => keys.map(k => new URL(k.url).pathname))"""


def test_a_buyer_on_a_weak_connection_sees_the_last_catalogue_pages(browser_page):
    from accounts.tests.factories import BuyerFactory
    from shops.tests.factories import CategoryFactory, ProductFactory

    product = ProductFactory(title="高山苹果 Mountain apples")
    unseen = CategoryFactory()
    buyer = BuyerFactory()
    page, context = browser_page, browser_page.context
    base = page.base_url
    page.goto(base + "/")
    page.wait_for_function("() => navigator.serviceWorker.ready.then(r => Boolean(r.active))", timeout=20000)
    page.wait_for_function(CONTROLLED)
    page.goto(f"{base}/p/{product.pk}/")
    expect(page.get_by_role("heading", name="高山苹果 Mountain apples")).to_be_visible()
    assert wait_until(lambda: f"/p/{product.pk}/" in page.evaluate(CATALOGUE_KEPT))

    context.set_offline(True)
    page.reload()  # the last copy instead of the browser's error
    expect(page.get_by_role("heading", name="高山苹果 Mountain apples")).to_be_visible()
    page.goto(f"{base}/c/{unseen.slug}/")  # never seen: the offline page, from the phone
    expect(page.get_by_role("heading", name="No connection")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # Signed in, pages are someone's own: signing in forgets what was kept and nothing more is kept.
    context.set_offline(False)
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(buyer.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/profile/")
    page.goto(f"{base}/p/{product.pk}/")
    expect(page.get_by_role("heading", name="高山苹果 Mountain apples")).to_be_visible()
    time.sleep(0.5)
    assert page.evaluate(CATALOGUE_KEPT) == []
    # Nothing of the API or of a POST is ever kept.
    names = page.evaluate("caches.keys()")
    for name in names:
        paths = page.evaluate("(name) => caches.open(name).then(c => c.keys()).then(k => k.map(r => r.url))", name)
        assert not any("/api/" in path for path in paths)
