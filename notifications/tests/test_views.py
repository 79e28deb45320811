import pytest
from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from notifications.models import Notification

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db


def test_inbox_needs_sign_in(client):
    response = client.get("/inbox/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_inbox_lists_own_messages_unread_first(client):
    user = BuyerFactory()
    read = NotificationFactory(recipient=user, subject="Old news", read_at=timezone.now())
    unread = NotificationFactory(recipient=user, subject="Parcel arrived")
    NotificationFactory(recipient=user, channel="email", subject="Email copy")
    NotificationFactory(subject="Someone else's order")
    client.force_login(user)
    response = client.get("/inbox/")
    assert response.status_code == 200
    assert list(response.context["notifications"]) == [unread, read]
    html = response.content.decode()
    assert "Someone else&#x27;s order" not in html and "Email copy" not in html
    assert '<li class="card unread">' in html and html.count('class="card unread"') == 1


def test_header_shows_unread_count(client):
    user = BuyerFactory()
    NotificationFactory.create_batch(3, recipient=user)
    NotificationFactory(recipient=user, read_at=timezone.now())
    client.force_login(user)
    html = client.get("/inbox/").content.decode()
    assert '<span class="badge">3 new</span>' in html


def test_opening_a_message_marks_it_read_and_follows_its_link(client):
    user = BuyerFactory()
    row = NotificationFactory(recipient=user, link="/orders/7/")
    client.force_login(user)
    response = client.get(f"/inbox/{row.pk}/")
    assert response.status_code == 302 and response["Location"] == "/orders/7/"
    row.refresh_from_db()
    assert row.read_at is not None


def test_message_without_link_goes_back_to_inbox(client):
    user = BuyerFactory()
    row = NotificationFactory(recipient=user, link="")
    client.force_login(user)
    assert client.get(f"/inbox/{row.pk}/")["Location"] == "/inbox/"


def test_another_users_message_is_404_and_stays_unread(client):
    theirs = NotificationFactory()
    client.force_login(BuyerFactory())
    assert client.get(f"/inbox/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_touches_only_own_messages(client):
    user = BuyerFactory()
    NotificationFactory.create_batch(2, recipient=user)
    theirs = NotificationFactory()
    client.force_login(user)
    assert client.get("/inbox/read-all/").status_code == 405
    response = client.post("/inbox/read-all/", follow=True)
    assert response.status_code == 200
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert '<span class="badge">' not in response.content.decode().split("</header>")[0]


def test_inbox_paginates(client):
    user = BuyerFactory()
    NotificationFactory.create_batch(25, recipient=user)
    client.force_login(user)
    assert len(client.get("/inbox/").context["notifications"]) == 20
    second = client.get("/inbox/?page=2")
    assert len(second.context["notifications"]) == 5
    assert client.get("/inbox/?page=nope").status_code == 200


@pytest.mark.parametrize("rows", [1, 30])
def test_inbox_query_count_is_fixed(client, django_assert_max_num_queries, rows):
    user = BuyerFactory()
    NotificationFactory.create_batch(rows, recipient=user)
    client.force_login(user)
    # session, user, unread count, page count, page rows
    with django_assert_max_num_queries(5):
        assert client.get("/inbox/").status_code == 200


def test_admin_filters_and_resends_failed_rows(client, django_capture_on_commit_callbacks):
    from django.core import mail

    admin = BuyerFactory(is_staff=True, is_superuser=True)
    failed = NotificationFactory(channel="email", status="failed", attempts=8, last_error="SMTP down")
    client.force_login(admin)
    listing = client.get("/admin/notifications/notification/", {"status__exact": "failed", "channel__exact": "email"})
    assert listing.status_code == 200 and list(listing.context["cl"].result_list) == [failed]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/notifications/notification/",
                               {"action": "resend_failed", "_selected_action": [failed.pk]})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "sent" and len(mail.outbox) == 1
