"""/api/v1/presales/... and /api/v1/groups/...: shapes, bad input (400), conflicts (409), scoping (404),
pagination with a fixed number of queries, and card authorisation against localstripe."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import AddressFactory, FarmerFactory
from orders.models import Order, Payment
from presales.models import BuyingGroup, GroupDeal, GroupMember, PreSale
from shops.tests.factories import ProductFactory

from .factories import buyer_with_address, join, make_deal, make_presale, preorder, start

pytestmark = pytest.mark.django_db


def future(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


class TestPreSalesApi:
    def test_create_returns_the_presale(self, api_client):
        product = ProductFactory(price=Decimal("68.00"))
        api_client.force_authenticate(product.shop.owner)
        response = api_client.post("/api/v1/presales/", {"product": product.pk, "harvest_start": future(10),
                                                         "harvest_end": future(20), "capacity": 40,
                                                         "price": "55.00"})
        assert response.status_code == 201, response.data
        body = response.json()
        assert body["price"] == "55.00" and body["normal_price"] == "68.00" and body["currency"] == "CNY"
        assert (body["units_left"], body["taking_orders"], body["shop"]) == (40, True, product.shop.slug)

    @pytest.mark.parametrize(("payload", "field"), [
        ({"harvest_start": future(-5), "harvest_end": future(3)}, "harvest_start"),
        ({"harvest_end": future(1)}, "harvest_end"),
        ({"capacity": 0}, "capacity"),
        ({"price": "-3"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"harvest_start": "tomorrow"}, "harvest_start"),
    ])
    def test_bad_input_is_a_400_naming_the_field(self, api_client, payload, field):
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        data = {"product": product.pk, "harvest_start": future(10), "harvest_end": future(20), "capacity": 40,
                "price": "55.00", **payload}
        response = api_client.post("/api/v1/presales/", data)
        assert response.status_code == 400 and field in response.json()
        assert not PreSale.objects.exists()

    def test_another_farms_product_is_a_400_and_anonymous_a_401(self, api_client):
        product = ProductFactory()
        data = {"product": product.pk, "harvest_start": future(10), "harvest_end": future(20), "capacity": 40,
                "price": "55.00"}
        assert api_client.post("/api/v1/presales/", data).status_code == 401
        api_client.force_authenticate(FarmerFactory())
        response = api_client.post("/api/v1/presales/", data)
        assert response.status_code == 400 and "product" in response.json()

    @pytest.mark.parametrize("rows", [1, 8])
    def test_list_paginates_with_fixed_queries(self, api_client, rows, django_assert_max_num_queries):
        for _ in range(rows):
            make_presale()
        with django_assert_max_num_queries(2):
            response = api_client.get("/api/v1/presales/?page_size=5")
        body = response.json()
        assert body["count"] == rows and len(body["results"]) == min(rows, 5)

    def test_only_the_farm_may_change_or_cancel(self, api_client):
        presale = make_presale()
        api_client.force_authenticate(FarmerFactory())
        assert api_client.patch(f"/api/v1/presales/{presale.pk}/", {"is_open": False}).status_code == 404
        assert api_client.post(f"/api/v1/presales/{presale.pk}/cancel/", {"reason": "x"}).status_code == 404
        assert api_client.get(f"/api/v1/presales/{presale.pk}/orders/").status_code == 404
        api_client.force_authenticate(presale.product.shop.owner)
        response = api_client.patch(f"/api/v1/presales/{presale.pk}/", {"capacity": 25, "is_open": False})
        assert response.status_code == 200 and response.json()["capacity"] == 25
        assert api_client.post(f"/api/v1/presales/{presale.pk}/cancel/", {"reason": ""}).status_code == 400
        response = api_client.post(f"/api/v1/presales/{presale.pk}/cancel/", {"reason": "Hail"})
        assert response.status_code == 200 and response.json()["cancelled"] is True
        assert api_client.patch(f"/api/v1/presales/{presale.pk}/", {"is_open": True}).status_code == 409

    def test_order_cash_on_delivery(self, api_client):
        presale = make_presale(capacity=5)
        buyer, address = buyer_with_address()
        api_client.force_authenticate(buyer)
        response = api_client.post(f"/api/v1/presales/{presale.pk}/order/", {"address": address.pk, "quantity": 2,
                                                                             "payment": "cod"})
        assert response.status_code == 201, response.data
        body = response.json()
        assert (body["status"], body["next_step"], body["quantity"]) == ("cash", None, 2)
        assert body["total"] == str(Order.objects.get().total)

    def test_order_conflicts_and_bad_input_change_nothing(self, api_client):
        presale = make_presale(capacity=2)
        buyer, address = buyer_with_address()
        _, other_address = buyer_with_address()
        api_client.force_authenticate(buyer)
        url = f"/api/v1/presales/{presale.pk}/order/"
        assert api_client.post(url, {"address": address.pk, "quantity": 3, "payment": "cod"}).status_code == 409
        response = api_client.post(url, {"address": other_address.pk, "quantity": 1, "payment": "cod"})
        assert response.status_code == 400 and "address" in response.json()
        assert api_client.post(url, {"address": address.pk, "quantity": 0, "payment": "cod"}).status_code == 400
        assert api_client.post(url, {"address": address.pk, "quantity": 1, "payment": "gold"}).status_code == 400
        assert not Order.objects.exists()
        presale.refresh_from_db()
        assert presale.units_sold == 0

    def test_buyers_see_only_their_preorders_and_cancel_them(self, api_client):
        mine = preorder(make_presale())
        theirs = preorder(make_presale())
        api_client.force_authenticate(mine.buyer)
        body = api_client.get("/api/v1/presales/orders/").json()
        assert [r["id"] for r in body["results"]] == [mine.pk]
        assert api_client.get(f"/api/v1/presales/orders/{theirs.pk}/").status_code == 404
        assert api_client.post(f"/api/v1/presales/orders/{theirs.pk}/cancel/").status_code == 404
        response = api_client.post(f"/api/v1/presales/orders/{mine.pk}/cancel/", {"reason": "改主意了"})
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        assert api_client.post(f"/api/v1/presales/orders/{mine.pk}/cancel/").status_code == 409

    @pytest.mark.parametrize("rows", [1, 6])
    def test_seller_sees_the_preorders_with_fixed_queries(self, api_client, rows, django_assert_max_num_queries):
        presale = make_presale(capacity=100)
        for _ in range(rows):
            preorder(presale)
        api_client.force_authenticate(presale.product.shop.owner)
        with django_assert_max_num_queries(5):
            body = api_client.get(f"/api/v1/presales/{presale.pk}/orders/").json()
        assert body["count"] == rows and body["results"][0]["shop_order_status"] == "new"

    def test_seller_cancels_one_preorder(self, api_client):
        presale = make_presale()
        pre = preorder(presale)
        api_client.force_authenticate(presale.product.shop.owner)
        url = f"/api/v1/presales/{presale.pk}/orders/{pre.pk}/cancel/"
        assert api_client.post(url, {}).status_code == 400
        response = api_client.post(url, {"reason": "果园遭灾"})
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        other = make_presale()
        assert api_client.post(f"/api/v1/presales/{other.pk}/orders/{pre.pk}/cancel/", {"reason": "x"}
                               ).status_code == 404

    def test_card_authorisation_against_localstripe(self, api_client, localstripe, django_capture_on_commit_callbacks):
        presale = make_presale()
        buyer, address = buyer_with_address()
        api_client.force_authenticate(buyer)
        with django_capture_on_commit_callbacks(execute=True):
            created = api_client.post(f"/api/v1/presales/{presale.pk}/order/", {
                "address": address.pk, "quantity": 1, "payment": "card"}).json()
        assert created["next_step"] == "authorise_card"
        url = f"/api/v1/presales/orders/{created['id']}/authorise/"
        details = api_client.post(url, {}).json()
        assert details["status"] == "requires_payment_method"
        assert details["client_secret"].startswith(details["payment_intent"])
        assert details["publishable_key"] == localstripe.publishable_key
        assert api_client.post(url, {"token": "not-a-token"}).status_code == 400
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(url, {"payment_method": "pm_card_visa"})
        assert response.status_code == 200 and response.json()["status"] == "requires_capture"
        assert api_client.get(f"/api/v1/presales/orders/{created['id']}/").json()["status"] == "authorised"
        assert api_client.post(url, {}).status_code == 409  # nothing left to authorise
        declined = api_client.post(f"/api/v1/presales/{presale.pk}/order/", {
            "address": address.pk, "quantity": 1, "payment": "card"}).json()
        response = api_client.post(f"/api/v1/presales/orders/{declined['id']}/authorise/",
                                   {"payment_method": "pm_card_chargeCustomerFail"})
        assert response.status_code == 409 and response.json()["code"] == "card_declined"


class TestGroupsApi:
    pytestmark = pytest.mark.usefixtures("card_payments_on")

    @pytest.mark.parametrize(("payload", "field"), [
        ({"group_size": 1}, "group_size"),
        ({"group_price": "68.00"}, "group_price"),
        ({"group_price": "99.00"}, "group_price"),
        ({"hours_to_fill": 0}, "hours_to_fill"),
    ])
    def test_bad_offer_is_a_400(self, api_client, payload, field):
        product = ProductFactory(price=Decimal("68.00"))
        api_client.force_authenticate(product.shop.owner)
        response = api_client.post("/api/v1/groups/offers/", {"product": product.pk, "group_size": 3,
                                                              "group_price": "48.00", "hours_to_fill": 24, **payload})
        assert response.status_code == 400 and field in response.json()
        assert not GroupDeal.objects.exists()

    def test_start_join_leave(self, api_client):
        deal = make_deal(size=3)
        starter, address = buyer_with_address()
        api_client.force_authenticate(starter)
        response = api_client.post(f"/api/v1/groups/offers/{deal.pk}/start/", {"address": address.pk})
        assert response.status_code == 201, response.data
        started = response.json()
        code = started["group"]
        assert (started["status"], started["places_taken"], started["unit_price"]) == ("pending", 1, "48.00")
        group = api_client.get(f"/api/v1/groups/{code}/").json()
        assert group["places_left"] == 2 and group["share_url"].endswith(f"/groups/{code}/")

        joiner, joiner_address = buyer_with_address()
        api_client.force_authenticate(joiner)
        response = api_client.post(f"/api/v1/groups/{code.lower()}/join/", {"address": joiner_address.pk,
                                                                           "quantity": 2})
        assert response.status_code == 201 and response.json()["quantity"] == 2
        response = api_client.post(f"/api/v1/groups/{code}/leave/")
        assert response.status_code == 200 and response.json()["status"] == "released"
        assert api_client.post(f"/api/v1/groups/{code}/leave/").status_code == 404

    def test_joining_full_expired_or_twice_is_a_409_and_changes_nothing(self, api_client):
        first = start(make_deal(size=2))
        group = first.group
        api_client.force_authenticate(first.buyer)
        address = first.buyer.addresses.get()
        response = api_client.post(f"/api/v1/groups/{group.code}/join/", {"address": address.pk})
        assert response.status_code == 409 and response.json()["code"] == "already_member"
        join(group)
        buyer, buyer_address = buyer_with_address()
        api_client.force_authenticate(buyer)
        response = api_client.post(f"/api/v1/groups/{group.code}/join/", {"address": buyer_address.pk})
        assert response.status_code == 409 and response.json()["code"] == "group_full"
        other = start(make_deal(size=3)).group
        BuyingGroup.objects.filter(pk=other.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        response = api_client.post(f"/api/v1/groups/{other.code}/join/", {"address": buyer_address.pk})
        assert response.status_code == 409 and response.json()["code"] == "group_closed"
        assert GroupMember.objects.count() == 3 and Order.objects.count() == 3

    def test_bad_join_input_is_a_400(self, api_client):
        group = start(make_deal(size=3, min_order=2), quantity=2).group
        buyer, address = buyer_with_address()
        api_client.force_authenticate(buyer)
        someone_elses = AddressFactory()
        url = f"/api/v1/groups/{group.code}/join/"
        assert "address" in api_client.post(url, {"address": someone_elses.pk}).json()
        response = api_client.post(url, {"address": address.pk, "quantity": 1})
        assert response.status_code == 400 and "quantity" in response.json()
        assert api_client.post("/api/v1/groups/GXXXXXXXX/join/", {"address": address.pk}).status_code == 404
        assert GroupMember.objects.count() == 1

    @pytest.mark.parametrize("rows", [1, 6])
    def test_lists_paginate_with_fixed_queries(self, api_client, rows, django_assert_max_num_queries):
        buyer, _ = buyer_with_address()
        for _ in range(rows):
            start(make_deal(), buyer=buyer)
        with django_assert_max_num_queries(2):
            assert api_client.get("/api/v1/groups/").json()["count"] == rows
        with django_assert_max_num_queries(2):
            assert api_client.get("/api/v1/groups/offers/").json()["count"] == rows
        api_client.force_authenticate(buyer)
        with django_assert_max_num_queries(2):
            assert api_client.get("/api/v1/groups/memberships/").json()["count"] == rows

    def test_memberships_are_scoped_to_the_buyer(self, api_client):
        member = start(make_deal())
        other, _ = buyer_with_address()
        api_client.force_authenticate(other)
        assert api_client.get(f"/api/v1/groups/memberships/{member.pk}/").status_code == 404
        assert api_client.post(f"/api/v1/groups/memberships/{member.pk}/authorise/").status_code == 404

    def test_a_farm_stops_its_offer(self, api_client):
        deal = make_deal()
        api_client.force_authenticate(FarmerFactory())
        assert api_client.patch(f"/api/v1/groups/offers/{deal.pk}/", {"is_active": False}).status_code == 404
        api_client.force_authenticate(deal.product.shop.owner)
        assert api_client.patch(f"/api/v1/groups/offers/{deal.pk}/", {"is_active": False}).json()["is_active"] is False
        buyer, address = buyer_with_address()
        api_client.force_authenticate(buyer)
        assert api_client.post(f"/api/v1/groups/offers/{deal.pk}/start/", {"address": address.pk}).status_code == 404


def test_group_filled_through_the_api_captures_every_member(api_client, localstripe,
                                                            django_capture_on_commit_callbacks):
    deal = make_deal(size=2)
    members = []
    for n in range(2):
        buyer, address = buyer_with_address()
        api_client.force_authenticate(buyer)
        with django_capture_on_commit_callbacks(execute=True):
            if n == 0:
                member = api_client.post(f"/api/v1/groups/offers/{deal.pk}/start/", {"address": address.pk}).json()
            else:
                member = api_client.post(f"/api/v1/groups/{members[0]['group']}/join/",
                                         {"address": address.pk}).json()
            response = api_client.post(f"/api/v1/groups/memberships/{member['id']}/authorise/",
                                       {"payment_method": "pm_card_visa"})
        assert response.json()["status"] == "requires_capture"
        members.append(member)
    assert BuyingGroup.objects.get().status == BuyingGroup.Status.FILLED
    assert set(Payment.objects.values_list("status", flat=True)) == {Payment.Status.SUCCEEDED}
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.PAID}
    assert api_client.get(f"/api/v1/groups/memberships/{members[1]['id']}/").json()["status"] == "confirmed"


def test_preorder_statuses_in_the_schema_are_named(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    names = schema["components"]["schemas"]
    assert {"PreOrderStatusEnum", "BuyingGroupStatusEnum", "GroupMemberStatusEnum", "PreOrderPaymentEnum"} <= set(
        names)
    paths = schema["paths"]
    for path in ("/api/v1/presales/", "/api/v1/presales/{id}/order/", "/api/v1/presales/orders/{id}/authorise/",
                 "/api/v1/groups/{code}/join/", "/api/v1/groups/offers/{id}/start/",
                 "/api/v1/groups/memberships/{id}/authorise/"):
        assert path in paths, path

