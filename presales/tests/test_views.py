"""The pages: buyers pre-order and join groups, farms manage their offers; bad input is shown on the page,
another user's rows are a 404, and each page costs a fixed number of queries whatever the row count."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import FarmerFactory
from orders.models import Order
from presales import services
from presales.models import BuyingGroup, GroupDeal, GroupMember, PreOrder, PreSale
from shops.tests.factories import ProductFactory

from .factories import buyer_with_address, join, make_deal, make_presale, preorder, start

pytestmark = pytest.mark.django_db


def render_include(name: str, product) -> str:
    return Template('{% include "' + name + '" %}').render(Context({"product": product}))


def with_loaded_offers(product):
    """The product as the product page's view hands it over: offers loaded (presales.receivers)."""
    from presales.selectors import with_offers
    from shops.models import Product

    return with_offers(Product.objects.filter(pk=product.pk)).get()


class TestProductPageIncludes:
    @pytest.mark.parametrize("presales", [1, 4])
    def test_presale_include_shows_window_and_units_left_without_a_query(self, presales, django_assert_num_queries):
        product = ProductFactory(price=Decimal("68.00"))
        for n in range(presales):
            presale = make_presale(product=product, capacity=10, starts_in=20 + n)
        preorder(presale, quantity=3)
        product = with_loaded_offers(product)
        with django_assert_num_queries(0):
            html = render_include("presales/includes/product_presale.html", product)
        assert html.count("<progress") == presales
        assert "7 units left" in html and "¥50.00" in html
        assert presale.harvest_start.strftime("%m/%d/%Y") in html or str(presale.harvest_start.year) in html

    def test_a_closed_or_past_presale_is_not_shown(self):
        presale = make_presale()
        services.update_presale(presale=presale, actor=presale.product.shop.owner, is_open=False)
        product = with_loaded_offers(presale.product)
        assert "<progress" not in render_include("presales/includes/product_presale.html", product)

    @pytest.mark.parametrize("groups", [1, 4])
    def test_group_include_shows_open_groups_with_progress_without_a_query(self, groups, card_payments_on,
                                                                           django_assert_num_queries):
        deal = make_deal(size=3)
        for _ in range(groups):
            join(start(deal).group)
        product = with_loaded_offers(deal.product)
        with django_assert_num_queries(0):
            html = render_include("presales/includes/product_groups.html", product)
        assert html.count("<progress") == groups
        assert "1 place left" in html and reverse("presales:group_start", args=[deal.pk]) in html

    def test_templates_never_query_offers_the_view_did_not_load(self, card_payments_on, django_assert_num_queries):
        deal = make_deal()
        start(deal)
        make_presale(product=deal.product)
        with django_assert_num_queries(0):
            html = (render_include("presales/includes/product_presale.html", deal.product)
                    + render_include("presales/includes/product_groups.html", deal.product))
        assert "offer" not in html

    def test_a_prefetched_product_costs_no_query(self, card_payments_on, django_assert_num_queries):
        from presales.selectors import with_offers
        from shops.models import Product

        deal = make_deal()
        start(deal)
        make_presale(product=deal.product)
        product = with_offers(Product.objects.filter(pk=deal.product_id)).get()
        with django_assert_num_queries(0):
            render_include("presales/includes/product_presale.html", product)
            render_include("presales/includes/product_groups.html", product)

    def test_order_include_says_what_a_held_order_waits_for(self, client, card_payments_on):
        member = start(make_deal())
        html = Template('{% include "presales/includes/order_hold.html" %}').render(Context({"order": member.order}))
        assert reverse("presales:hold", args=[member.order.number]) in html
        plain = Order.objects.create(buyer=member.buyer, payment_method="cod", number="X1")
        assert Template('{% include "presales/includes/order_hold.html" %}').render(
            Context({"order": plain})).strip() == ""


class TestPreSalePages:
    @pytest.mark.parametrize("rows", [1, 6])
    def test_list_has_a_fixed_number_of_queries(self, client, rows, django_assert_max_num_queries):
        for _ in range(rows):
            make_presale()
        with django_assert_max_num_queries(2):
            response = client.get(reverse("presales:presales"))
        assert response.status_code == 200
        assert response.content.decode().count("<progress") == rows

    def test_a_buyer_preorders_cash_on_delivery(self, client):
        presale = make_presale(capacity=10)
        buyer, address = buyer_with_address()
        client.force_login(buyer)
        response = client.post(presale.get_absolute_url(), {"address": address.pk, "quantity": 3, "payment": "cod"})
        pre = PreOrder.objects.get()
        assert response.status_code == 302 and response["Location"] == pre.get_absolute_url()
        assert pre.quantity == 3 and pre.status == PreOrder.Status.CASH
        page = client.get(pre.get_absolute_url())
        assert pre.order.number in page.content.decode()

    def test_card_preorder_goes_to_the_authorisation_page(self, client, card_payments_on):
        presale = make_presale()
        buyer, address = buyer_with_address()
        client.force_login(buyer)
        response = client.post(presale.get_absolute_url(), {"address": address.pk, "quantity": 1,
                                                            "payment": "card"})
        assert response["Location"] == reverse("presales:hold", args=[PreOrder.objects.get().order.number])

    def test_bad_quantity_is_shown_on_the_page_and_nothing_is_saved(self, client):
        presale = make_presale(min_order=2)
        buyer, address = buyer_with_address()
        client.force_login(buyer)
        response = client.post(presale.get_absolute_url(), {"address": address.pk, "quantity": 1, "payment": "cod"})
        assert response.status_code == 200
        assert "minimum order" in response.content.decode()
        assert not PreOrder.objects.exists() and not Order.objects.exists()

    def test_sold_out_is_shown_on_the_page(self, client):
        presale = make_presale(capacity=2)
        preorder(presale, quantity=2)
        buyer, address = buyer_with_address()
        client.force_login(buyer)
        response = client.post(presale.get_absolute_url(), {"address": address.pk, "quantity": 1, "payment": "cod"})
        assert response.status_code == 200 and "sold out" in response.content.decode()
        assert PreOrder.objects.count() == 1

    def test_anonymous_visitors_see_the_page_and_are_asked_to_sign_in_to_order(self, client):
        presale = make_presale()
        response = client.get(presale.get_absolute_url())
        assert response.status_code == 200 and "Sign in to pre-order" in response.content.decode()
        response = client.post(presale.get_absolute_url(), {"quantity": 1})
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]

    @pytest.mark.parametrize("rows", [1, 6])
    def test_my_preorders_has_a_fixed_number_of_queries(self, client, rows, django_assert_max_num_queries):
        buyer, _ = buyer_with_address()
        for _ in range(rows):
            preorder(make_presale(), buyer=buyer)
        client.force_login(buyer)
        with django_assert_max_num_queries(5):
            response = client.get(reverse("presales:preorders"))
        assert response.content.decode().count('class="card-title"') == rows

    def test_another_buyers_preorder_is_a_404(self, client):
        pre = preorder(make_presale())
        other, _ = buyer_with_address()
        client.force_login(other)
        assert client.get(pre.get_absolute_url()).status_code == 404
        assert client.post(reverse("presales:preorder_cancel", args=[pre.pk])).status_code == 404
        assert client.get(reverse("presales:hold", args=[pre.order.number])).status_code == 404
        pre.refresh_from_db()
        assert pre.is_live

    def test_the_buyer_cancels_on_the_page(self, client):
        pre = preorder(make_presale())
        client.force_login(pre.buyer)
        response = client.post(reverse("presales:preorder_cancel", args=[pre.pk]), {"reason": "买多了"})
        assert response.status_code == 302
        pre.refresh_from_db()
        assert pre.status == PreOrder.Status.CANCELLED and pre.cancel_reason == "买多了"


class TestGroupPages:
    pytestmark = pytest.mark.usefixtures("card_payments_on")

    def test_share_page_join_goes_to_authorisation(self, client):
        group = start(make_deal(size=3)).group
        buyer, address = buyer_with_address()
        client.force_login(buyer)
        page = client.get(group.get_absolute_url())
        assert page.status_code == 200 and group.code in page.content.decode()
        response = client.post(group.get_absolute_url(), {"address": address.pk, "quantity": 1})
        member = GroupMember.objects.get(buyer=buyer)
        assert response["Location"] == reverse("presales:hold", args=[member.order.number])

    def test_a_full_group_says_so_and_a_forced_join_changes_nothing(self, client):
        group = start(make_deal(size=2)).group
        join(group)
        buyer, address = buyer_with_address()
        client.force_login(buyer)
        page = client.get(group.get_absolute_url()).content.decode()
        assert "This group is full." in page
        response = client.post(group.get_absolute_url(), {"address": address.pk, "quantity": 1})
        assert response.status_code == 200 and "This group is full." in response.content.decode()
        assert GroupMember.objects.count() == 2

    def test_the_code_is_read_forgivingly_and_a_wrong_one_is_a_404(self, client):
        group = start(make_deal()).group
        assert client.get(f"/groups/{group.code.lower()}/").status_code == 200
        other = "Y" if group.code.endswith("X") else "X"  # a code that really differs from the group's
        assert client.get(f"/groups/{group.code[:-1]}{other}/").status_code in (404,)
        assert client.get("/groups/nothing/").status_code == 404

    def test_start_a_group_from_the_offer(self, client):
        deal = make_deal()
        buyer, address = buyer_with_address()
        client.force_login(buyer)
        assert client.get(reverse("presales:group_start", args=[deal.pk])).status_code == 200
        response = client.post(reverse("presales:group_start", args=[deal.pk]), {"address": address.pk,
                                                                                 "quantity": 1})
        member = GroupMember.objects.get(buyer=buyer)
        assert response["Location"] == reverse("presales:hold", args=[member.order.number])
        assert member.group.started_by == buyer

    def test_leave_on_the_page(self, client):
        member = start(make_deal())
        client.force_login(member.buyer)
        client.post(reverse("presales:group_leave", args=[member.group.code]))
        member.refresh_from_db()
        assert member.status == GroupMember.Status.RELEASED

    @pytest.mark.parametrize("rows", [1, 6])
    def test_group_lists_have_a_fixed_number_of_queries(self, client, rows, django_assert_max_num_queries):
        buyer, _ = buyer_with_address()
        for _ in range(rows):
            start(make_deal(), buyer=buyer)
        client.force_login(buyer)
        with django_assert_max_num_queries(5):
            assert client.get(reverse("presales:my_groups")).content.decode().count('class="card-title"') == rows
        with django_assert_max_num_queries(5):
            assert client.get(reverse("presales:groups")).content.decode().count("<progress") == rows


class TestSellerPages:
    def test_open_a_presale_and_see_bad_input_on_the_page(self, client):
        product = ProductFactory()
        client.force_login(product.shop.owner)
        url = reverse("presales:seller_presale_create")
        past = timezone.localdate() - timedelta(days=2)
        response = client.post(url, {"product": product.pk, "harvest_start": past, "harvest_end": past,
                                     "capacity": 10, "price": "40.00"})
        assert response.status_code == 200 and "The harvest must start in the future." in response.content.decode()
        assert not PreSale.objects.exists()
        start_day = timezone.localdate() + timedelta(days=10)
        response = client.post(url, {"product": product.pk, "harvest_start": start_day,
                                     "harvest_end": start_day + timedelta(days=5), "capacity": 10, "price": "40.00"})
        presale = PreSale.objects.get()
        assert response["Location"] == reverse("presales:seller_presale", args=[presale.pk])

    def test_another_farmers_product_is_not_offered(self, client):
        product = ProductFactory()
        client.force_login(FarmerFactory())
        start_day = timezone.localdate() + timedelta(days=10)
        response = client.post(reverse("presales:seller_presale_create"), {
            "product": product.pk, "harvest_start": start_day, "harvest_end": start_day, "capacity": 1,
            "price": "1.00"})
        assert response.status_code == 200 and not PreSale.objects.exists()

    @pytest.mark.parametrize("rows", [1, 6])
    def test_presale_page_lists_preorders_in_fixed_queries(self, client, rows, django_assert_max_num_queries):
        presale = make_presale(capacity=100)
        for _ in range(rows):
            preorder(presale)
        client.force_login(presale.product.shop.owner)
        with django_assert_max_num_queries(7):
            response = client.get(reverse("presales:seller_presale", args=[presale.pk]))
        assert response.content.decode().count(reverse("presales:seller_presale_cancel", args=[presale.pk])) == 1
        assert response.content.decode().count("/seller/presales/orders/") == rows

    def test_other_farmers_get_404(self, client):
        presale = make_presale()
        pre = preorder(presale)
        client.force_login(FarmerFactory())
        for url in (reverse("presales:seller_presale", args=[presale.pk]),
                    reverse("presales:seller_presale_cancel", args=[presale.pk]),
                    reverse("presales:seller_preorder_cancel", args=[pre.pk])):
            assert client.get(url).status_code == 404
            assert client.post(url, {"reason": "x"}).status_code == 404
        presale.refresh_from_db()
        assert not presale.is_cancelled

    def test_harvest_failed_needs_a_reason(self, client, django_capture_on_commit_callbacks):
        presale = make_presale()
        pre = preorder(presale)
        client.force_login(presale.product.shop.owner)
        url = reverse("presales:seller_presale_cancel", args=[presale.pk])
        assert client.post(url, {"reason": ""}).status_code == 200
        presale.refresh_from_db()
        assert not presale.is_cancelled
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url, {"reason": "暴雨冲毁果园 Storm"})
        pre.refresh_from_db()
        assert pre.status == PreOrder.Status.CANCELLED

    def test_group_offer_price_above_normal_is_shown_on_the_page(self, client):
        product = ProductFactory(price=Decimal("68.00"))
        client.force_login(product.shop.owner)
        url = reverse("presales:seller_deal_create")
        response = client.post(url, {"product": product.pk, "group_size": 3, "group_price": "70.00",
                                     "hours_to_fill": 24})
        assert response.status_code == 200 and "lower than the normal price" in response.content.decode()
        response = client.post(url, {"product": product.pk, "group_size": 1, "group_price": "50.00",
                                     "hours_to_fill": 24})
        assert response.status_code == 200 and not GroupDeal.objects.exists()
        client.post(url, {"product": product.pk, "group_size": 3, "group_price": "50.00", "hours_to_fill": 24})
        deal = GroupDeal.objects.get()
        client.post(reverse("presales:seller_deal", args=[deal.pk]), {"is_active": "0"})
        deal.refresh_from_db()
        assert not deal.is_active

    @pytest.mark.parametrize("rows", [1, 6])
    def test_seller_lists_have_fixed_queries(self, client, rows, card_payments_on, django_assert_max_num_queries):
        farmer = FarmerFactory()
        deal = None
        for _ in range(rows):
            product = ProductFactory(shop__owner=farmer, price=Decimal("68.00"))
            make_presale(product=product)
            deal = make_deal(product=product)
            start(deal)
        client.force_login(farmer)
        for url in (reverse("presales:seller_presales"), reverse("presales:seller_deals"),
                    reverse("presales:seller_deal", args=[deal.pk])):
            with django_assert_max_num_queries(6):
                assert client.get(url).status_code == 200


def test_hold_page_redirects_once_authorised(client, card_payments_on):
    member = start(make_deal())
    GroupMember.objects.filter(pk=member.pk).update(status=GroupMember.Status.AUTHORISED)
    client.force_login(member.buyer)
    response = client.get(reverse("presales:hold", args=[member.order.number]))
    assert response.status_code == 302 and response["Location"] == member.group.get_absolute_url()


def test_expired_group_page_says_closed(client, card_payments_on):
    group = start(make_deal()).group
    BuyingGroup.objects.filter(pk=group.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert "This group has closed." in client.get(group.get_absolute_url()).content.decode()
