import pytest
from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from notifications.models import Notification

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"


def test_needs_authentication(api_client):
    assert api_client.get(URL).status_code in (401, 403)
    assert api_client.post(f"{URL}read-all/").status_code in (401, 403)


def test_lists_own_inbox_paginated(api_client):
    user = BuyerFactory()
    read = NotificationFactory(recipient=user, read_at=timezone.now())
    unread = NotificationFactory(recipient=user, subject="Parcel arrived", link="/orders/3/")
    NotificationFactory(recipient=user, channel="email")
    NotificationFactory()
    api_client.force_authenticate(user)
    body = api_client.get(URL).json()
    assert body["count"] == 2 and {"next", "previous"} <= set(body)
    assert [r["id"] for r in body["results"]] == [unread.pk, read.pk]
    first = body["results"][0]
    assert first["subject"] == "Parcel arrived" and first["link"] == "/orders/3/"
    assert first["is_read"] is False and first["read_at"] is None
    assert api_client.get(URL, {"page_size": 1}).json()["next"]


def test_read_marks_one(api_client):
    user = BuyerFactory()
    row = NotificationFactory(recipient=user)
    api_client.force_authenticate(user)
    response = api_client.post(f"{URL}{row.pk}/read/")
    assert response.status_code == 200 and response.json()["is_read"] is True
    row.refresh_from_db()
    assert row.read_at is not None


def test_other_users_rows_are_404(api_client):
    theirs = NotificationFactory()
    mine_by_email = NotificationFactory(channel="email")
    api_client.force_authenticate(BuyerFactory())
    assert api_client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert api_client.post(f"{URL}{theirs.pk}/read/").status_code == 404
    api_client.force_authenticate(mine_by_email.recipient)
    assert api_client.post(f"{URL}{mine_by_email.pk}/read/").status_code == 404  # not an inbox message
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all_marks_only_own(api_client):
    user = BuyerFactory()
    NotificationFactory.create_batch(3, recipient=user)
    theirs = NotificationFactory()
    api_client.force_authenticate(user)
    response = api_client.post(f"{URL}read-all/")
    assert response.status_code == 200 and response.json() == {"marked": 3}
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize("rows", [1, 40])
def test_list_query_count_is_fixed(api_client, django_assert_max_num_queries, rows):
    user = BuyerFactory()
    NotificationFactory.create_batch(rows, recipient=user)
    api_client.force_authenticate(user)
    with django_assert_max_num_queries(2):  # count, page
        assert api_client.get(URL).status_code == 200
