"""Cart, checkout, the buyer's orders and the seller's incoming orders. Thin: forms check shape, services write."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import addresses_for
from core.errors import ConflictError
from shops.models import Product

from . import selectors, services, shipping, states
from .forms import (
    NEW_ADDRESS,
    AddToCartForm,
    BuyerCancelForm,
    CancelReasonForm,
    CartQuantityForm,
    CheckoutForm,
    NewAddressForm,
    ShipToForm,
)
from .models import CartItem, Order, Payment, ShopOrder
from .signals import CART_MERGE_SESSION_KEY

PAGE_SIZE = 10


def request_cart(request, *, create: bool = False):
    """The signed-in user's cart, or the visitor's anonymous cart (its token lives in the session)."""
    if request.user.is_authenticated:
        return services.open_cart(user=request.user) if create else selectors.cart_for_user(request.user)
    token = request.session.get(services.CART_SESSION_KEY)
    cart = selectors.cart_for_token(token)
    if cart is None and create:
        token = services.new_cart_token()
        request.session[services.CART_SESSION_KEY] = token
        cart = services.open_cart(token=token)
    return cart


def _show_errors(request, exc: ValidationError) -> None:
    for msgs in exc.message_dict.values():
        for msg in msgs:
            messages.error(request, msg)


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Cart -------------------------------------------------------------------------------------------------------------

def cart(request):
    ship_to = ShipToForm(request.GET or None)
    province = ""
    if ship_to.is_valid():
        province = ship_to.cleaned_data["province"]
    if not province:
        address = selectors.default_address(request.user)
        province = address.province if address else ""
        ship_to = ShipToForm(initial={"province": shipping.PROVINCE_NAMES.get(shipping.province_key(province),
                                                                              province)})
    summary = selectors.cart_summary(request_cart(request), province=province)
    return render(request, "orders/cart.html", {"summary": summary, "ship_to": ship_to,
                                                "merge": cart_merge_notice(request)})


def cart_merge_notice(request) -> dict | None:
    """What signing in added to the cart, while the buyer may still undo it (see orders.signals)."""
    if not request.user.is_authenticated:
        return None
    return request.session.get(CART_MERGE_SESSION_KEY)


@require_POST
def cart_merge_undo(request):
    """Put the cart back as it was just before sign-in merged the saved cart into it."""
    merge = cart_merge_notice(request)
    if merge is None:
        messages.info(request, _("There is nothing to undo: your cart is as you left it."))
        return redirect("orders:cart")
    services.restore_cart(user=request.user, lines=dict(merge["before"]))
    request.session.pop(CART_MERGE_SESSION_KEY, None)
    messages.success(request, _("Your cart is back as it was before you signed in."))
    return redirect(_safe_next(request, reverse("orders:cart")))


@require_POST
def cart_merge_keep(request):
    request.session.pop(CART_MERGE_SESSION_KEY, None)
    return redirect(_safe_next(request, reverse("orders:cart")))


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        for msgs in form.errors.values():
            for msg in msgs:
                messages.error(request, msg)
        return redirect(_safe_next(request, reverse("orders:cart")))
    product = get_object_or_404(Product.objects.select_related("shop"), pk=form.cleaned_data["product"])
    try:
        services.add_to_cart(cart=request_cart(request, create=True), product=product,
                             quantity=form.cleaned_data["quantity"])
    except ValidationError as exc:
        _show_errors(request, exc)
    else:
        messages.success(request, _("“%(product)s” is in your cart.") % {"product": product.title})
    return redirect(_safe_next(request, reverse("orders:cart")))


def _cart_item_or_404(request, pk: int) -> CartItem:
    # Only a line of this visitor's own cart; with no cart, nothing matches.
    return get_object_or_404(CartItem.objects.select_related("product__shop"), pk=pk, cart=request_cart(request))


@require_POST
def cart_update(request, pk: int):
    item = _cart_item_or_404(request, pk)
    form = CartQuantityForm(request.POST)
    if form.is_valid():
        try:
            services.update_cart_item(item=item, quantity=form.cleaned_data["quantity"])
        except ValidationError as exc:
            _show_errors(request, exc)
    else:
        messages.error(request, _("Enter a quantity of at least 1."))
    return redirect("orders:cart")


@require_POST
def cart_remove(request, pk: int):
    item = _cart_item_or_404(request, pk)
    services.remove_cart_item(item=item)
    messages.success(request, _("Removed from your cart."))
    return redirect("orders:cart")


# --- Checkout ---------------------------------------------------------------------------------------------------------

def _pay_url(order: Order) -> str:
    if order.status != Order.Status.PENDING_PAYMENT or order.payment_method != Order.PaymentMethod.STRIPE:
        return ""
    if order.payments.filter(status=Payment.Status.REQUIRES_CAPTURE).exists():
        return ""  # an authorised hold (pre-sale, group) is charged later, not paid now
    try:
        return reverse("orders:pay", args=[order.number])
    except NoReverseMatch:  # online payment pages not installed
        return ""


@require_http_methods(["GET", "POST"])
def checkout(request):
    """Choose or add an address, choose how to pay, see each shop's fee, place the order.

    "Update fees" posts the page back without placing the order (no script needed), so the
    fees follow the address chosen.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    addresses = list(addresses_for(request.user))
    default = next((a for a in addresses if a.is_default), addresses[0] if addresses else None)
    source = request.POST if request.method == "POST" else request.GET
    choice = source.get("address") or (str(default.pk) if default else NEW_ADDRESS)
    placing = request.method == "POST" and "quote" not in request.POST
    if placing:
        form = CheckoutForm(request.POST, addresses=addresses)
        address_form = NewAddressForm(request.POST if choice == NEW_ADDRESS else None, prefix="new")
    else:
        initial = {"address": choice}
        if source.get("payment_method"):
            initial["payment_method"] = source["payment_method"]
        form = CheckoutForm(addresses=addresses, initial=initial)
        address_form = NewAddressForm(prefix="new", initial={
            f: source.get(f"new-{f}", "") for f in NewAddressForm.Meta.fields})
    chosen = form.addresses.get(choice)
    province = chosen.province if chosen else source.get("new-province", "")
    cart_ = selectors.cart_for_user(request.user)
    summary = selectors.cart_summary(cart_, province=province)
    if summary.is_empty:
        messages.info(request, _("Your cart is empty."))
        return redirect("orders:cart")

    if placing and form.is_valid() and (choice != NEW_ADDRESS or address_form.is_valid()):
        method = form.cleaned_data["payment_method"]
        try:
            if choice == NEW_ADDRESS:
                fields = {f: address_form.cleaned_data[f] for f in NewAddressForm.Meta.fields}
                order = services.place_order_at_new_address(buyer=request.user, address_fields=fields,
                                                            payment_method=method)
            else:
                order = services.place_order(buyer=request.user, address=chosen, payment_method=method)
        except ValidationError as exc:
            for field, msgs in exc.message_dict.items():
                target = address_form if field in address_form.fields else form
                target.add_error(field if field in target.fields else None, msgs)
        except ConflictError as exc:
            form.add_error(None, exc.message)
            summary = selectors.cart_summary(cart_, province=province)
        else:
            request.session.pop(CART_MERGE_SESSION_KEY, None)
            pay_url = _pay_url(order)
            if pay_url:
                return redirect(pay_url)
            messages.success(request, _("Thank you! Your order %(number)s is placed.") % {"number": order.number})
            return redirect(order.get_absolute_url())
    return render(request, "orders/checkout.html", {
        "form": form, "address_form": address_form, "summary": summary, "chosen": chosen,
        "new_address": choice == NEW_ADDRESS, "merge": cart_merge_notice(request)})


# --- Buyer's orders ---------------------------------------------------------------------------------------------------

@login_required
def order_list(request):
    page = _page(request, selectors.order_list_for_buyer(request.user))
    return render(request, "orders/order_list.html", {"page": page, "orders": page.object_list})


@login_required
def order_detail(request, number: str):
    order = get_object_or_404(selectors.order_detail_for_buyer(request.user), number=number)
    parts = list(order.shop_orders.all())
    can_cancel = selectors.buyer_can_cancel(order, parts)
    return render(request, "orders/order_detail.html", {
        "order": order, "shop_orders": parts, "pay_url": _pay_url(order), "can_cancel": can_cancel,
        "parts": [(so, {"is_cancelled": so.status == ShopOrder.Status.CANCELLED}) for so in parts],
        "cancel_form": BuyerCancelForm()})


@login_required
@require_POST
def order_cancel(request, number: str):
    order = get_object_or_404(selectors.orders_for_buyer(request.user), number=number)
    form = BuyerCancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.cancel_order(order=order, actor=request.user, reason=reason)
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Order %(number)s is cancelled.") % {"number": order.number})
    return redirect(order.get_absolute_url())


@login_required
@require_POST
def order_buy_again(request, number: str):
    """Put a past order's products back in the cart; say which could not be added and why."""
    order = get_object_or_404(selectors.orders_for_buyer(request.user), number=number)
    result = services.buy_again(buyer=request.user, order=order)
    if result.added:
        messages.success(request, _("Back in your cart: %(products)s.") % {"products": ", ".join(result.added)})
    for title, why in result.refused:
        messages.warning(request, _("Not added: %(product)s. %(reason)s") % {"product": title, "reason": why})
    if not result.added and not result.refused:
        messages.info(request, _("Nothing in this order can be bought again."))
    return redirect("orders:cart")


# --- Seller's incoming orders -----------------------------------------------------------------------------------------

SELLER_TABS = [ShopOrder.Status.NEW, ShopOrder.Status.ACCEPTED, ShopOrder.Status.PACKED,
               ShopOrder.Status.HANDED_OVER, ShopOrder.Status.IN_TRANSIT, ShopOrder.Status.DELIVERED,
               ShopOrder.Status.COMPLETED, ShopOrder.Status.CANCELLED]


def seller_flags(shop_order: ShopOrder) -> dict[str, bool]:
    """What the shop may do next with a part, from the state table, for its order pages."""
    SS = ShopOrder.Status
    return {
        "can_accept": states.can_move_shop_order(shop_order, SS.ACCEPTED),
        "can_cancel": shop_order.status in services.SELLER_CANCELLABLE,
        "can_pack": states.can_move_shop_order(shop_order, SS.PACKED),  # packed from accepted
        # A packed part is handed over, or packed again to correct a lot until then.
        "can_hand_over": states.can_move_shop_order(shop_order, SS.HANDED_OVER),
    }


@login_required
def seller_orders(request):
    queryset = selectors.shop_orders_for_seller(request.user)
    status = request.GET.get("status", "")
    if status in SELLER_TABS:
        queryset = queryset.filter(status=status)
    else:
        status = ""
    page = _page(request, queryset)
    tabs = [(s.value, s.label, s == status) for s in SELLER_TABS]
    return render(request, "orders/seller_order_list.html", {
        "page": page, "shop_orders": page.object_list, "status": status, "tabs": tabs,
        "rows": [(so, seller_flags(so)) for so in page.object_list], "cancel_form": CancelReasonForm()})


def _seller_order_or_404(request, pk: int) -> ShopOrder:
    return get_object_or_404(selectors.shop_orders_for_seller(request.user), pk=pk)


@login_required
def seller_order(request, pk: int):
    shop_order = _seller_order_or_404(request, pk)
    return render(request, "orders/seller_order_detail.html", {
        "so": shop_order, "flags": seller_flags(shop_order), "cancel_form": CancelReasonForm()})


@login_required
@require_POST
def seller_order_accept(request, pk: int):
    shop_order = _seller_order_or_404(request, pk)
    try:
        services.accept_shop_order(shop_order=shop_order, actor=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Order %(number)s accepted.") % {"number": shop_order.order.number})
    return redirect(_safe_next(request, reverse("orders:seller_order", args=[shop_order.pk])))


@login_required
@require_http_methods(["GET", "POST"])
def seller_order_cancel(request, pk: int):
    shop_order = _seller_order_or_404(request, pk)
    form = CancelReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_shop_order(shop_order=shop_order, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error("reason", exc.message_dict.get("reason") or exc.messages)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect("orders:seller_order", pk=shop_order.pk)
        else:
            messages.success(request, _("Order %(number)s is cancelled for your shop; the buyer is told why.") % {
                "number": shop_order.order.number})
            return redirect("orders:seller_order", pk=shop_order.pk)
    return render(request, "orders/seller_order_cancel.html", {"so": shop_order, "form": form})
