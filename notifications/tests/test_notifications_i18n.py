"""Inbox messages follow the reader's language of the moment, and links are buttons, never raw text."""
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.tests.factories import BuyerFactory
from notifications.models import Notification
from notifications.services import Phrase, notify

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db


def paid(user):
    params = {"number": "FG00042", "total": Decimal("68.00")}
    return notify(recipient=user, kind="order_paid", link="/orders/FG00042/", link_label=gettext_noop("See the order"),
                  subject=Phrase(gettext_lazy("Order %(number)s is paid"), params),
                  body=Phrase(gettext_lazy("We have received ¥%(total)s for order %(number)s. Thank you!"), params))


def test_a_message_written_in_english_shows_in_chinese_after_switching_language(client):
    user = BuyerFactory(language="en")
    paid(user)
    row = Notification.objects.get(recipient=user, channel="inbox")
    # Email and SMS keep the text as written, in the recipient's language then; the inbox keeps the ids.
    assert row.subject == "Order FG00042 is paid"
    assert row.subject_msgid == "Order %(number)s is paid" and row.params == {"number": "FG00042", "total": "68.00"}
    client.force_login(user)
    assert "Order FG00042 is paid" in client.get("/inbox/").content.decode()

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/inbox/"})
    html = client.get("/inbox/").content.decode()
    assert "订单 FG00042 已付款" in html
    assert "我们已收到订单 FG00042 的款项 ¥68.00" in html
    assert "Order FG00042 is paid" not in html
    # The link is a button with translated words, not a URL in the text.
    assert f'<a class="button secondary" href="/inbox/{row.pk}/">查看订单</a>' in html
    assert "/orders/FG00042/" not in html


def test_the_inbox_api_speaks_the_readers_language_too(client):
    user = BuyerFactory(language="en")
    paid(user)
    client.force_login(user)
    body = client.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert body["results"][0]["subject"] == "订单 FG00042 已付款"


def test_rows_written_before_message_ids_keep_their_text(client):
    user = BuyerFactory()
    NotificationFactory(recipient=user, subject="Order FG1 is paid", body="Old text https://farmgate.example/x/y")
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/inbox/"})
    html = client.get("/inbox/").content.decode()
    assert "Order FG1 is paid" in html and 'class="user-text"' in html


def test_a_translatable_value_is_translated_when_shown():
    user = BuyerFactory(language="zh-hans")
    notify(recipient=user, kind="x", subject=Phrase(gettext_lazy("Order %(number)s is paid"), {"number": "FG7"}),
           body=Phrase("%(status)s", {"status": gettext_lazy("Cancelled")}))
    row = Notification.objects.get(recipient=user, channel="inbox")
    assert row.params["status"] == {"_t": "Cancelled"}
    assert row.subject == "订单 FG7 已付款"  # rendered in the recipient's language for email and SMS
    with translation.override("en"):
        assert row.body_text == "Cancelled"
    with translation.override("zh-hans"):
        assert row.body_text == "已取消"
