"""notify_many: several events in one write and one broker message, de-duplicated as notify() is."""
import pytest
from django.core import mail
from django.utils.translation import gettext_lazy

from accounts.tests.factories import BuyerFactory
from notifications import services
from notifications.models import Notification
from notifications.services import Message

pytestmark = pytest.mark.django_db


def _message(user, **kwargs):
    return Message(recipient=user, kind="order_placed", subject=gettext_lazy("Yes"), body="Thanks", link="/orders/1/",
                   **kwargs)


def test_rows_of_several_recipients_go_in_one_insert_and_one_broker_message(
        django_assert_max_num_queries, django_capture_on_commit_callbacks, monkeypatch):
    buyers = [BuyerFactory(language="zh-hans"), BuyerFactory(language="en"), BuyerFactory(language="en")]
    sent = []
    monkeypatch.setattr(services, "enqueue_delivery", lambda pk: sent.append([pk]))
    monkeypatch.setattr(services.current_app.tasks["notifications.deliver_many"], "apply_async",
                        lambda args, **kw: sent.append(args[0]))
    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(1):
        rows = services.notify_many([_message(user) for user in buyers])
    assert len(rows) == 6 and all(row.pk for row in rows)
    assert sent == [[row.pk for row in rows]]
    assert {r.subject for r in Notification.objects.filter(recipient=buyers[0])} == {"是"}


def test_a_dedupe_key_still_writes_an_event_once(django_capture_on_commit_callbacks):
    user = BuyerFactory()
    with django_capture_on_commit_callbacks(execute=False):
        first = services.notify_many([_message(user, dedupe_key="order_placed:1")])
        again = services.notify_many([_message(user, dedupe_key="order_placed:1"), _message(BuyerFactory())])
    assert len(first) == 2 and len(again) == 2
    assert Notification.objects.filter(recipient=user).count() == 2


def test_one_message_delivers_every_row(django_capture_on_commit_callbacks):
    users = [BuyerFactory(), BuyerFactory()]
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_many([_message(user, channels=("email",)) for user in users])
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)
    assert set(Notification.objects.values_list("status", flat=True)) == {Notification.Status.SENT}
