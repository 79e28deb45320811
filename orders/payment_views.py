"""The pay page, its small JSON helpers, and POST /api/v1/orders/{id}/pay/. Thin: scope to the buyer, call a service."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ConflictError

from . import services
from .models import Order
from .payments import gateway, intents
from .selectors import orders_for_buyer


def _order_or_404(request, number: str) -> Order:
    return get_object_or_404(orders_for_buyer(request.user), number=number)


@login_required
@never_cache
@require_GET
def pay_page(request, number: str):
    order = _order_or_404(request, number)
    if order.payment_method != Order.PaymentMethod.STRIPE or order.status != Order.Status.PENDING_PAYMENT:
        messages.info(request, _("This order is not waiting for an online payment."))
        return redirect(order.get_absolute_url())
    context = {"order": order, "card_enabled": intents.card_payments_enabled(), "error": "", "intent": None,
               "stripe_js_url": settings.STRIPE_JS_URL}
    if context["card_enabled"]:
        try:
            context["intent"] = intents.start_payment(order=order)
        except ConflictError as exc:
            context["error"] = exc.message
        order.refresh_from_db(fields=["status"])
        if order.status != Order.Status.PENDING_PAYMENT:  # Stripe said it was paid already
            return redirect(order.get_absolute_url())
    return render(request, "orders/pay.html", context)


def _json_error(exc: Exception) -> JsonResponse:
    if isinstance(exc, ValidationError):
        return JsonResponse(exc.message_dict, status=400)
    code = 502 if isinstance(exc, gateway.PaymentUnavailable) else 409
    return JsonResponse({"detail": exc.message, "code": exc.code}, status=code)


@login_required
@require_POST
def pay_card(request, number: str):
    """The pay page posts the card token made by Stripe.js here; the answer says whether 3-D Secure is needed."""
    order = _order_or_404(request, number)
    try:
        result = intents.pay_with_card_token(order=order, token=request.POST.get("token", ""))
    except (ValidationError, ConflictError) as exc:
        return _json_error(exc)
    return JsonResponse({"status": result["status"], "client_secret": result["client_secret"]})


@login_required
@never_cache
@require_GET
def pay_status(request, number: str):
    """Polled by the pay page until the webhook has marked the order paid."""
    order = _order_or_404(request, number)
    # A weighed order is done here once its card is authorised (it is captured after weighing).
    authorised = order.is_weighed and order.reserved_until is None
    return JsonResponse({"status": order.status, "paid": order.paid_at is not None,
                         "done": order.status != Order.Status.PENDING_PAYMENT or authorised,
                         "order_url": order.get_absolute_url()})


@login_required
@require_http_methods(["POST"])
def pay_cash(request, number: str):
    order = _order_or_404(request, number)
    try:
        services.switch_to_cash_on_delivery(order=order)
    except ConflictError as exc:
        messages.error(request, exc.message)
        return redirect("orders:pay", number=order.number)
    intents.cancel_open_intents(order=order)  # a card left open in another tab can no longer pay it
    messages.success(request, _("You will pay cash on delivery."))
    return redirect(order.get_absolute_url())


class PaymentDetailsSerializer(serializers.Serializer):
    client_secret = serializers.CharField()
    payment_intent = serializers.CharField()
    publishable_key = serializers.CharField()


class PayOrderView(APIView):
    """Start (or resume) the card payment of one of your orders: what Stripe.js or a Stripe SDK needs."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: PaymentDetailsSerializer,
            404: OpenApiResponse(description="Not your order"),
            409: OpenApiResponse(description="Not waiting for an online payment, or card payment is off"),
            502: inline_serializer("PaymentProviderError", {"detail": serializers.CharField(),
                                                             "code": serializers.CharField()}),
        },
    )
    def post(self, request, pk: int):
        order = get_object_or_404(orders_for_buyer(request.user), pk=pk)
        try:
            details = intents.start_payment(order=order)
        except gateway.PaymentUnavailable as exc:
            return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_502_BAD_GATEWAY)
        return Response(PaymentDetailsSerializer(details).data)
