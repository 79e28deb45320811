"""Pre-sales of a harvest more than LONG_PRESALE_DAYS away: a saved card instead of an authorisation, charged while
the buyer is away when the farm ships (localstripe)."""
import pytest
from django.core.exceptions import ValidationError

from orders import services as order_services
from orders.models import Order, Payment, SavedCard, ShopOrder
from orders.payments import cards, gateway
from presales import services
from presales.models import PreOrder

from .factories import buyer_with_address, make_presale

pytestmark = pytest.mark.django_db


def saved_card(buyer, method: str = "pm_card_visa") -> SavedCard:
    setup = cards.start_card_setup(buyer=buyer, consent=True)
    gateway.confirm_setup_intent(setup.id, payment_method=method)
    return cards.record_card_setup(card=SavedCard.objects.get(setup_intent_id=setup.id))


def shipped(preorder: PreOrder) -> Order:
    """The farm accepted, packed and handed the part over (as logistics would), made here through orders."""
    part = preorder.order.shop_orders.select_related("shop").get()
    order_services.accept_shop_order(shop_order=part, actor=part.shop.owner)
    order_services.mark_packed(shop_order=part)
    order_services.mark_handed_over(shop_order=part)
    return preorder.order


def test_a_card_authorisation_is_refused_for_a_harvest_far_ahead(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.LONG_PRESALE_DAYS = 6
    presale = make_presale(starts_in=30)
    buyer, address = buyer_with_address()
    with pytest.raises(ValidationError) as exc:
        services.place_preorder(buyer=buyer, presale=presale, address=address, quantity=1,
                                payment=PreOrder.Payment.CARD)
    assert "payment" in exc.value.message_dict
    assert services.is_long_presale(presale) and not services.is_long_presale(make_presale(starts_in=6))


def test_a_saved_card_is_required_and_must_be_the_buyers(localstripe):
    presale = make_presale(starts_in=30)
    buyer, address = buyer_with_address()
    other_card = saved_card(buyer_with_address()[0])
    for card in (None, other_card):
        with pytest.raises(ValidationError) as exc:
            services.place_preorder(buyer=buyer, presale=presale, address=address, quantity=1,
                                    payment=PreOrder.Payment.SAVED_CARD, saved_card=card)
        assert "saved_card" in exc.value.message_dict


def test_a_long_presale_is_charged_to_the_saved_card_at_hand_over(localstripe):
    presale = make_presale(starts_in=30)
    buyer, address = buyer_with_address()
    card = saved_card(buyer)
    preorder = services.place_preorder(buyer=buyer, presale=presale, address=address, quantity=2,
                                       payment=PreOrder.Payment.SAVED_CARD, saved_card=card)
    assert preorder.status == PreOrder.Status.AUTHORISED and preorder.pay_by is None
    assert preorder.order.shop_orders.get().status == ShopOrder.Status.NEW  # the farm prepares it
    assert not Payment.objects.exists()  # nothing held on the card meanwhile
    preorder = services.capture_presale_order(order=shipped(preorder))
    assert preorder.status == PreOrder.Status.PAID
    order = Order.objects.get(pk=preorder.order_id)
    assert order.status == Order.Status.PAID and order.payments.get().status == Payment.Status.SUCCEEDED


def test_a_declining_saved_card_makes_the_payment_due(localstripe):
    presale = make_presale(starts_in=30)
    buyer, address = buyer_with_address()
    card = saved_card(buyer, "pm_card_chargeCustomerFail")
    preorder = services.place_preorder(buyer=buyer, presale=presale, address=address, quantity=1,
                                       payment=PreOrder.Payment.SAVED_CARD, saved_card=card)
    preorder = services.capture_presale_order(order=shipped(preorder))
    assert preorder.status == PreOrder.Status.PAYMENT_DUE
    assert Order.objects.get(pk=preorder.order_id).status == Order.Status.PENDING_PAYMENT
