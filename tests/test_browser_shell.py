"""The phone shell of every role at 360 px, in English and in Chinese, over the demo world.

For each role (visitor, buyer, farmer, agent) a real Chromium at 360x740 opens that role's main pages and
fails on:
- horizontal overflow (document.scrollingElement.scrollWidth > innerWidth);
- a visible tap target under 44x44 px: a, button, input, select, textarea, summary, and the label of a
  checkbox or radio (a checkbox or radio passes through its label, which is what the thumb hits). The one
  exemption: a link inside the running text of a paragraph (an inline link with words around it in its <p>);
- a header taller than 64 px;
- a console error or an uncaught page error;
- in Chinese, an English word outside user data (the offending words are reported with their element). User
  data is every text stored in the database (product, shop, farm and place names, addresses, notes people
  typed, event payloads; category names excepted, they are the site's own words), and any element marked
  `data-user` (or `user-text`) or with a `lang` of another language (the language switch names the other
  language in itself). Abbreviations, codes and units (API, QR, EPCIS, parcel and order codes, kg) are known
  tokens; a word next to digits is a code.
- a page that does not answer 200 at its own address (a role sent to the sign-in page is a failure too).

The demo world (marketplace's load_demo) is loaded once for the module into the live server's database and
flushed at the end.
"""
import io
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.test.utils import override_settings

from config.celery import app as celery_app
from conftest import CHROMIUM, CHROMIUM_ARGS, require_service

# Each test runs in a transaction rolled back at its end (the demo world itself is committed by the module's
# fixture, before any test; after the last, the database is put back as it was, seeded rows included).
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

CHECK_PAGE_JS = r"""
(userData) => {
  const report = {overflow: 0, header: 0, small: [], english: []};
  const scroller = document.scrollingElement;
  if (scroller.scrollWidth > innerWidth) report.overflow = scroller.scrollWidth;
  const header = document.querySelector('body > header');
  report.header = header ? Math.round(header.getBoundingClientRect().height) : 0;

  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1 || r.right <= 0 || r.bottom <= 0) return false;
    const style = getComputedStyle(el);
    return style.visibility !== 'hidden' && style.display !== 'none' && style.opacity !== '0';
  };
  const big = (el) => { const r = el.getBoundingClientRect(); return r.width >= 43.5 && r.height >= 43.5; };
  const describe = (el) => {
    const r = el.getBoundingClientRect();
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim().slice(0, 40);
    const tag = el.tagName.toLowerCase() + (el.type ? ' type=' + el.type : '');
    return `<${tag}> "${text}" ${Math.round(r.width)}x${Math.round(r.height)}`;
  };
  const inRunningText = (el) => {
    if (el.tagName !== 'A' || getComputedStyle(el).display !== 'inline') return false;
    const p = el.closest('p');
    return p !== null && p.textContent.replace(/\s+/g, '').length > el.textContent.replace(/\s+/g, '').length;
  };
  const targets = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, label');
  for (const el of targets) {
    if (!shown(el)) continue;
    if (el.tagName === 'LABEL') {
      const control = el.control;
      if (!control || !['checkbox', 'radio'].includes(control.type)) continue;
      if (!big(el)) report.small.push(describe(el));
      continue;
    }
    if (['checkbox', 'radio'].includes(el.type)) {
      if ([...(el.labels || [])].some((label) => shown(label) && big(label))) continue;
    }
    if (inRunningText(el)) continue;
    if (!big(el)) report.small.push(describe(el));
  }

  if (document.documentElement.lang.startsWith('zh')) {
    const known = new Set(['API', 'QR', 'EPCIS', 'JSON', 'LD', 'CSV', 'ID', 'SMS', 'GS1', 'URL', 'kg', 'g', 'mm',
      'cm', 'km', 'ml', 'PDF', 'PNG', 'SVG', 'Alipay', 'WeChat', 'Stripe', 'HTTP', 'MQTT', 'CNY', 'RMB', 'pH',
      'http', 'https', 'pingguo', 'apples']);  // the last two: the search box's example of pinyin and English
    const skip = (el) => el.closest('script, style, template, noscript, [data-user], .user-text, [hidden]') !== null
      || !(el.closest('[lang]')?.lang || '').startsWith('zh');
    const words = new Set();
    const collect = (text, el) => {
      let rest = text;
      for (const value of userData) rest = rest.split(value).join(' ');
      for (const token of rest.match(/(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9_.\-@/]*/g) || []) {
        const word = token.replace(/[.\-/]+$/, '');
        if (word.length < 2 || /\d/.test(word) || known.has(word) || /^[A-Z0-9-]{6,}$/.test(word)) continue;
        words.add(word + ' (in ' + el.tagName.toLowerCase() + ': "' + text.trim().slice(0, 50) + '")');
      }
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || !node.textContent.trim() || skip(el) || !shown(el)) continue;
      collect(node.textContent, el);
    }
    for (const el of document.querySelectorAll('[placeholder], input[type=submit][value], [aria-label], img[alt]')) {
      if (skip(el)) continue;
      for (const attr of ['placeholder', 'aria-label', 'alt']) {
        if (el.getAttribute(attr)) collect(el.getAttribute(attr), el);
      }
      if (el.type === 'submit') collect(el.value, el);
    }
    report.english = [...words];
  }
  return report;
}
"""

MAX_HEADER_PX = 64
# Models whose text is not user data: category names are the site's own words, translated in both columns.
NOT_USER_DATA = {"shops.category"}


def user_data() -> list[str]:
    """Every text people or the demo typed into the database (names, titles, notes, places), longest first:
    the English check removes these before it looks for English words."""
    from django.apps import apps
    from django.db import models

    values: set[str] = set()

    def add(value) -> None:  # strings, and the strings inside JSON (event payloads carry notes people typed)
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            for item in value:
                add(item)
        elif isinstance(value, str) and any("a" <= c.lower() <= "z" for c in value):
            values.update(part.strip() for part in value.splitlines() if len(part.strip()) >= 2)

    for model in apps.get_models():
        if model._meta.label_lower in NOT_USER_DATA or model._meta.app_label in ("auth", "contenttypes", "sessions"):
            continue
        fields = [f.name for f in model._meta.concrete_fields
                  if (isinstance(f, models.CharField | models.TextField) and not f.choices
                      and f.name != "password") or isinstance(f, models.JSONField)]
        if fields:
            for row in model.objects.values_list(*fields):
                add(list(row))
    return sorted(values, key=len, reverse=True)


def role_pages() -> dict[str, list[str]]:
    """Each role's main pages in the demo world."""
    from accounts.models import User
    from logistics.models import Parcel, Shipment
    from logistics.selectors import agent_station
    from orders.models import Order, ShopOrder
    from shops.models import Category, HarvestLot, Product, Shop
    from stations.models import AssistedFarmer, StationOrder

    product = (Product.objects.filter(is_active=True, images__isnull=False, shop__owner__username="farmer")
               .order_by("pk").first())
    category = product.category
    farm = Shop.objects.filter(owner__username="farmer").order_by("pk").first()
    lot = HarvestLot.objects.filter(product__shop=farm).order_by("pk").first()
    order = Order.objects.filter(buyer__username="buyer").order_by("-pk").first()
    shop_order = ShopOrder.objects.filter(shop=farm, status="new").order_by("pk").first()
    station = agent_station(User.objects.get(username="agent"))
    parcel = Parcel.objects.filter(station=station).order_by("pk").first()
    shipment = Shipment.objects.filter(station=station).order_by("pk").first()
    assisted = AssistedFarmer.objects.filter(station=station).order_by("pk").first()
    villager_order = StationOrder.objects.filter(station=station).select_related("order").order_by("pk").first()
    assert all([product, category, farm, lot, order, shop_order, parcel, shipment, assisted, villager_order]), (
        "the demo world is incomplete")
    trace = f"/t/{lot.code}"
    return {
        "visitor": ["/", f"/c/{Category.objects.get(pk=category.pk).slug}/", "/search/?q=%E8%8B%B9%E6%9E%9C",
                    f"/p/{product.pk}/", f"/s/{product.shop.slug}/", "/cart/", trace, "/presales/",
                    "/accounts/login/", "/accounts/signup/"],
        "buyer": ["/", f"/p/{product.pk}/", "/cart/", "/checkout/", "/orders/", f"/orders/{order.number}/",
                  "/accounts/profile/", "/inbox/", "/demand/", "/presales/orders/"],
        "farmer": ["/seller/", f"/seller/shops/{farm.slug}/", f"/seller/shops/{farm.slug}/products/",
                   "/seller/orders/", f"/seller/orders/{shop_order.pk}/", "/seller/money/", "/demand/",
                   "/inbox/", "/accounts/profile/"],
        "agent": ["/agent/", f"/agent/parcels/{parcel.code}/", "/agent/shipments/",
                  f"/agent/shipments/{shipment.pk}/", "/agent/cash/", "/track/", "/monitoring/sensors/",
                  "/accounts/profile/", "/agent/farmers/", "/agent/farmers/new/",
                  f"/agent/farmers/{assisted.farmer_id}/", "/agent/villager-orders/", "/agent/villager-orders/new/",
                  f"/agent/villager-orders/{villager_order.order.number}/"],
    }


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The whole demo (load_demo) in the live server's database, once for the module; the database is put back
    as it was afterwards."""
    from django.db import connection

    media = tmp_path_factory.mktemp("shell-media")
    name = str(connection.settings_dict["NAME"])
    assert "test" in name or "memory" in name, f"not a test database: {name}"  # it is flushed at the end
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # photos and thumbnails are made in process, whatever the broker
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media, STRIPE_SECRET_KEY="", PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher"]):
        # What the migrations seeded (villages, categories, shipping rates): the tests after this module need it.
        before = connection.creation.serialize_db_to_string()
        try:
            call_command("load_demo", stdout=io.StringIO())
        finally:
            celery_app.conf.task_always_eager = eager
        try:
            yield {"media": media, "pages": role_pages(), "user_data": user_data(),
                   "sessions": {name: session_of(name) for name in ("buyer", "farmer", "agent")}}
        finally:
            # As TransactionTestCase's serialized rollback: no post_migrate rows, the saved ones come back instead.
            call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
            connection.creation.deserialize_db_from_string(before)
            # The rows came back with their ids; the sequences (restarted by the flush) must follow them.
            with connection.cursor() as cursor:
                for statement in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
                    cursor.execute(statement)


@pytest.fixture(scope="module")
def shell_server(demo_world):
    """A live server of the module's own: the shared `live_server` implies a flushed database after each test,
    and the demo world is loaded once for all four roles."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("localhost")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shell_page(demo_world, shell_server, settings, monkeypatch):
    """Chromium at 360x740 against the module's server, recording console and page errors."""
    require_service("Chromium", Path(CHROMIUM).exists())
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.MEDIA_ROOT = demo_world["media"]
    settings.STRIPE_SECRET_KEY = ""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15000)
        page.base_url = shell_server.url
        page.shell_errors = []
        page.on("console", lambda m: m.type == "error" and page.shell_errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: page.shell_errors.append(f"page error: {e}"))
        try:
            yield page
        finally:
            context.close()
            browser.close()


def session_of(username: str) -> str:
    """A signed-in session for the demo user (the sign-in form has its own tests)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User

    user = User.objects.get(username=username)
    session = SessionStore()
    session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[-1],
                    HASH_SESSION_KEY: user.get_session_auth_hash()})
    session.create()
    return session.session_key


def sign_in(page, session_key: str) -> None:
    from django.conf import settings

    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": page.base_url}])


def problems_on(page, paths: list[str], data: list[str]) -> list[str]:
    """Every problem on these pages, in English and then in Chinese (the language cookie)."""
    found = []
    for language in ("en", "zh-hans"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": page.base_url}])
        for path in paths:
            page.shell_errors.clear()
            response = page.goto(page.base_url + path)
            page.wait_for_load_state("load")
            where = f"[{language}] {path}"
            if response is None or response.status != 200:
                found.append(f"{where}: HTTP {response.status if response else 'none'}")
                continue
            if page.url != page.base_url + path:
                found.append(f"{where}: sent to {page.url}")
                continue
            report = page.evaluate(CHECK_PAGE_JS, data)
            if report["overflow"]:
                found.append(f"{where}: page is {report['overflow']} px wide")
            if report["header"] > MAX_HEADER_PX:
                found.append(f"{where}: header is {report['header']} px tall")
            found += [f"{where}: small tap target {target}" for target in report["small"]]
            found += [f"{where}: English word {word}" for word in report["english"]]
            found += [f"{where}: {error}" for error in page.shell_errors]
    return found


def assert_no_problems(found: list[str]) -> None:
    assert not found, f"{len(found)} problems:\n" + "\n".join(found)


def test_visitor_shell_at_360px(shell_page, demo_world):
    assert_no_problems(problems_on(shell_page, demo_world["pages"]["visitor"], demo_world["user_data"]))


def test_buyer_shell_at_360px(shell_page, demo_world):
    sign_in(shell_page, demo_world["sessions"]["buyer"])
    found = problems_on(shell_page, demo_world["pages"]["buyer"], demo_world["user_data"])
    # The cart tab counts the buyer's cart lines (the demo cart has two).
    shell_page.context.add_cookies([{"name": "django_language", "value": "en", "url": shell_page.base_url}])
    shell_page.goto(shell_page.base_url + "/")
    assert re.fullmatch(r"Cart\s*2", shell_page.get_by_role("navigation", name="Sections")
                        .get_by_role("link", name="Cart").inner_text().strip())
    assert_no_problems(found)


def test_farmer_shell_at_360px(shell_page, demo_world):
    sign_in(shell_page, demo_world["sessions"]["farmer"])
    assert_no_problems(problems_on(shell_page, demo_world["pages"]["farmer"], demo_world["user_data"]))


def test_agent_shell_at_360px(shell_page, demo_world):
    sign_in(shell_page, demo_world["sessions"]["agent"])
    assert_no_problems(problems_on(shell_page, demo_world["pages"]["agent"], demo_world["user_data"]))
