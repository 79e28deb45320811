"""The page kit: one pager, one status badge, one field renderer, copy_errors, and the flags pages get instead of
comparing status strings in templates."""
import re
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from core.forms import copy_errors
from core.templatetags.kit import status_badge

TEMPLATES = Path(settings.BASE_DIR) / "templates"


# --- Pager ------------------------------------------------------------------------------------------------------------

def render_pager(url: str, number: int, **context) -> str:
    page = Paginator(range(25), 10).get_page(number)  # 3 pages
    return render_to_string("includes/pager.html", {"page": page, **context}, request=RequestFactory().get(url))


def test_the_pager_keeps_the_other_query_parameters_and_changes_only_the_page():
    html = render_pager("/seller/orders/?status=new&q=kiwi&page=2", 2)
    assert '<a class="tap" href="?status=new&amp;q=kiwi&amp;page=1" rel="prev">Previous</a>' in html
    assert '<a class="tap" href="?status=new&amp;q=kiwi&amp;page=3" rel="next">Next</a>' in html
    assert "Page 2 of 3" in html and 'aria-label="Pages"' in html


def test_the_first_page_has_no_previous_link_and_the_last_no_next():
    first, last = render_pager("/list/", 1), render_pager("/list/?page=3", 3)
    assert 'rel="prev"' not in first and 'href="?page=2" rel="next"' in first
    assert 'href="?page=2" rel="prev"' in last and 'rel="next"' not in last


def test_the_pager_takes_the_lists_path_and_other_labels():
    html = render_pager("/seller/products/7/price/", 2, page_url="/seller/shop/products/", prev_label="Newer",
                        next_label="Older")
    assert 'href="/seller/shop/products/?page=1" rel="prev">Newer</a>' in html
    assert 'href="/seller/shop/products/?page=3" rel="next">Older</a>' in html


def test_a_list_of_one_page_has_no_pager():
    page = Paginator(range(3), 10).get_page(1)
    assert "pager" not in render_to_string("includes/pager.html", {"page": page},
                                           request=RequestFactory().get("/list/"))


def test_the_kit_has_one_copy_of_each_piece():
    names = {"pager.html", "_pager.html", "status.html", "_field.html"}
    copies = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html") if p.name in names)
    assert copies == ["includes/pager.html"]


# --- Status badge -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, css", [
    ("pending_payment", "badge wait"), ("awaiting_payment", "badge wait"), ("new", "badge wait"),
    ("open", "badge wait"), ("expected", "badge wait"), ("pending", "badge wait"),
    ("cancelled", "badge warn"), ("refunded", "badge warn"), ("exception", "badge warn"),
    ("payment_due", "badge warn"), ("released", "badge warn"), ("failed", "badge warn"),
    ("in_transit", "badge none"), ("received", "badge none"), ("departed", "badge none"),
    ("paid", "badge"), ("delivered", "badge"), ("accepted", "badge"), ("processing", "badge"),
])
def test_a_status_badge_takes_its_colour_from_the_value(value, css):
    assert status_badge(value, "Label") == f'<span class="{css}">Label</span>'


def test_a_status_badge_escapes_its_label():
    assert status_badge("new", "<b>x</b>") == '<span class="badge wait">&lt;b&gt;x&lt;/b&gt;</span>'


# --- copy_errors ------------------------------------------------------------------------------------------------------

class NameForm(forms.Form):
    name = forms.CharField()
    password1 = forms.CharField(required=False)


def valid_form() -> NameForm:
    form = NameForm({"name": "Li"})
    assert form.is_valid()
    return form


def test_copy_errors_puts_field_messages_on_their_field_and_the_rest_on_the_form():
    form = valid_form()
    copy_errors(form, ValidationError({"name": ["Taken."], NON_FIELD_ERRORS: ["Closed."],
                                       "village": ["Not on this form."]}))
    assert form.errors["name"] == ["Taken."]
    assert form.non_field_errors() == ["Closed.", "Not on this form."]


def test_copy_errors_puts_a_message_without_a_field_on_the_form():
    form = valid_form()
    copy_errors(form, ValidationError(["One.", "Two."]))
    assert form.non_field_errors() == ["One.", "Two."] and "name" not in form.errors


def test_copy_errors_renames_a_services_field_to_the_forms():
    form = valid_form()
    copy_errors(form, ValidationError({"password": ["Too short."]}), rename={"password": "password1"})
    assert form.errors["password1"] == ["Too short."] and not form.non_field_errors()


# --- No template compares status strings ------------------------------------------------------------------------------

TAG = re.compile(r"\{%-?\s*(?:if|elif|with|firstof|for)\b(.*?)%\}", re.S)
# `x.status == "new"`, `"new" != so.status`, `status in cancellable`, `key == state`, `alert.state == 'open'` ...
STATUS = r"[\w.]*\b(?:status|state)\b"
COMPARISON = re.compile(rf"{STATUS}\s*(?:==|!=|\bnot in\b|\bin\b)|(?:==|!=|\bin\b)\s*{STATUS}")


def status_comparisons() -> list[str]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(COMPARISON.search(tag) for tag in TAG.findall(line)):
                found.append(f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()[:120]}")
    return found


def test_the_check_catches_status_comparisons():
    for line in ('{% if so.status == "new" %}', "{% elif parcel.status != 'delivered' %}",
                 "{% if so.status in cancellable %}", '{% if "paid" == order.status %}', "{% if key == state %}",
                 "{% if alert.state == 'open' %}"):
        assert any(COMPARISON.search(tag) for tag in TAG.findall(line)), line
    assert not any(COMPARISON.search(tag) for tag in TAG.findall('{% if flags.can_accept %}{% if statuses %}'))


def test_no_template_compares_status_strings():
    assert status_comparisons() == [], "pass flags from the view (computed from the state tables) instead"


# --- Flags from the state tables --------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("status", ["new", "accepted", "packed", "handed_over", "in_transit", "delivered",
                                    "completed", "cancelled"])
def test_a_farmers_order_page_offers_only_what_the_state_table_allows(client, status):
    from accounts.tests.factories import FarmerFactory
    from orders import services, states
    from orders.models import ShopOrder
    from orders.tests.factories import place
    from shops.tests.factories import ProductFactory, ShopFactory

    farmer = FarmerFactory()
    part = place(lines=[(ProductFactory(shop=ShopFactory(owner=farmer)), 1)]).shop_orders.get()
    ShopOrder.objects.filter(pk=part.pk).update(status=status)  # the page is under test, not the moves
    part.refresh_from_db()
    client.force_login(farmer)
    html = client.get(reverse("orders:seller_order", args=[part.pk])).content.decode()
    SS = ShopOrder.Status
    offered = {
        "accept": reverse("orders:seller_order_accept", args=[part.pk]) in html,
        "cancel": reverse("orders:seller_order_cancel", args=[part.pk]) in html,
        "pack": reverse("logistics:seller_pack", args=[part.pk]) in html,
        "hand over": reverse("logistics:seller_hand_over", args=[part.pk]) in html,
    }
    assert offered == {
        "accept": states.can_move_shop_order(part, SS.ACCEPTED),
        "cancel": status in services.SELLER_CANCELLABLE,
        # A packed part may be packed again ("Change the lots") until it is handed over.
        "pack": states.can_move_shop_order(part, SS.PACKED) or states.can_move_shop_order(part, SS.HANDED_OVER),
        "hand over": states.can_move_shop_order(part, SS.HANDED_OVER),
    }
    assert offered["accept"] == (status == "new")  # the table, read the way a person would


@pytest.mark.django_db
def test_a_part_waiting_for_payment_is_not_on_the_farmers_pages(client, settings):
    from accounts.tests.factories import FarmerFactory
    from orders.models import Order
    from orders.tests.factories import place
    from shops.tests.factories import ProductFactory, ShopFactory

    settings.STRIPE_SECRET_KEY = "sk_test_x"
    farmer = FarmerFactory()
    order = place(lines=[(ProductFactory(shop=ShopFactory(owner=farmer)), 1)],
                  payment_method=Order.PaymentMethod.STRIPE)
    client.force_login(farmer)
    assert client.get(reverse("orders:seller_order", args=[order.shop_orders.get().pk])).status_code == 404


@pytest.mark.parametrize("part_status, parcel_status, expected", [
    ("handed_over", "expected", {"show_code": True, "can_confirm": False, "can_review": False}),
    ("in_transit", "in_transit", {"show_code": True, "can_confirm": True, "can_review": False}),
    ("in_transit", "exception", {"show_code": True, "can_confirm": True, "can_review": False}),
    ("delivered", "delivered", {"show_code": True, "can_confirm": True, "can_review": True}),
    ("completed", "delivered", {"show_code": False, "can_confirm": False, "can_review": True}),
    ("cancelled", None, {"show_code": False, "can_confirm": False, "can_review": False}),
])
def test_the_buyers_delivery_box_follows_the_part_and_its_parcel(part_status, parcel_status, expected):
    from logistics.flags import delivery_flags
    from logistics.models import Parcel
    from orders.models import ShopOrder

    part = ShopOrder(status=part_status)
    if parcel_status:
        part.parcel = Parcel(status=parcel_status)
    assert delivery_flags(part) == expected


@pytest.mark.parametrize("status, can_load, can_record", [
    ("open", True, False), ("departed", False, True), ("exception", False, True), ("delivered", False, False)])
def test_an_agents_shipment_page_loads_only_while_open_and_records_until_delivered(status, can_load, can_record):
    from logistics.flags import shipment_flags
    from logistics.models import Shipment

    assert shipment_flags(Shipment(status=status)) == {"can_load": can_load, "can_record": can_record}


@pytest.mark.parametrize("status, payment, awaits", [
    ("pending", "card", "awaits_card"), ("pending", "online", "awaits_payment"),
    ("authorised", "card", "is_authorised"), ("payment_due", "card", "payment_due"), ("paid", "online", None),
    ("cancelled", "card", None),
])
def test_a_preorder_says_what_it_waits_for(status, payment, awaits):
    from presales.models import PreOrder
    from presales.selectors import preorder_flags

    flags = preorder_flags(PreOrder(status=status, payment=payment))
    assert [name for name, on in flags.items() if on] == ([awaits] if awaits else [])


@pytest.mark.parametrize("status, group_status, expected", [
    ("pending", "open", {"awaits_card": True, "is_authorised": False, "can_leave": True}),
    ("authorised", "open", {"awaits_card": False, "is_authorised": True, "can_leave": True}),
    ("authorised", "failed", {"awaits_card": False, "is_authorised": True, "can_leave": False}),
    ("confirmed", "filled", {"awaits_card": False, "is_authorised": False, "can_leave": False}),
])
def test_a_group_place_says_what_it_waits_for_and_whether_it_may_leave(status, group_status, expected):
    from presales.models import BuyingGroup, GroupMember
    from presales.selectors import member_flags

    assert member_flags(GroupMember(status=status, group=BuyingGroup(status=group_status))) == expected
