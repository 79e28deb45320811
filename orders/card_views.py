"""Saved cards: the buyer's page (list, save with the site's card form, remove) and /api/v1/payment-methods/.

Thin: scoped to the signed-in buyer (another buyer's card is a 404), every write through orders.payments.cards.
"""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response

from core.errors import ConflictError

from .models import SavedCard
from .payments import cards, gateway

# --- API --------------------------------------------------------------------------------------------------------------

class SavedCardSerializer(serializers.ModelSerializer):
    class Meta:
        model = SavedCard
        fields = ("id", "brand", "last4", "exp_month", "exp_year", "created_at")


class CardSetupInSerializer(serializers.Serializer):
    consent = serializers.BooleanField(
        help_text="Must be true: the buyer lets Farmgate charge this card while they are away, for their standing "
                  "orders and pre-orders of harvests far ahead.")


class CardSetupOutSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The saved card's id once the SetupIntent succeeds.")
    client_secret = serializers.CharField()
    setup_intent = serializers.CharField()
    publishable_key = serializers.CharField()


@extend_schema_view(destroy=extend_schema(responses={204: None, 409: OpenApiResponse(
    description="Card payment is off, or the payment service refused")}))
class PaymentMethodViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your saved cards. POST starts saving one (a Stripe SetupIntent to confirm with Stripe.js or a Stripe SDK);
    it is listed once confirmed."""

    serializer_class = SavedCardSerializer
    permission_classes = [permissions.IsAuthenticated]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return cards.usable_cards(self.request.user).order_by("-created_at", "-id")

    def list(self, request, *args, **kwargs):
        cards.sync_card_setups(buyer=request.user)
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CardSetupInSerializer, responses={201: CardSetupOutSerializer,
                                                             409: OpenApiResponse(description="Card payment is off")})
    def create(self, request, *args, **kwargs):
        data = CardSetupInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        setup = cards.start_card_setup(buyer=request.user, consent=data.validated_data["consent"])
        card = SavedCard.objects.get(setup_intent_id=setup.id)
        return Response({"id": card.pk, "client_secret": setup.client_secret, "setup_intent": setup.id,
                         "publishable_key": settings.STRIPE_PUBLISHABLE_KEY}, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        cards.remove_card(card=instance, buyer=self.request.user)


# --- Pages ------------------------------------------------------------------------------------------------------------

@login_required
@never_cache
@require_GET
def saved_cards(request):
    enabled = gateway.is_configured()
    if enabled:
        try:
            cards.sync_card_setups(buyer=request.user)
        except ConflictError:
            pass
    context = {"cards": list(cards.usable_cards(request.user)), "card_enabled": enabled, "error": "",
               "intent": {"publishable_key": settings.STRIPE_PUBLISHABLE_KEY}, "stripe_js_url": settings.STRIPE_JS_URL}
    return render(request, "orders/saved_cards.html", context)


@login_required
@require_POST
def saved_card_add(request):
    """Step 1 of the card form (static/js/saved_card.js): with the consent box ticked, a SetupIntent whose
    client secret Stripe.js confirms with the card (confirmCardSetup); the card details never come here."""
    try:
        setup = cards.start_card_setup(buyer=request.user,
                                       consent=request.POST.get("consent") in ("on", "true", "1"))
    except ValidationError as exc:
        return JsonResponse(exc.message_dict, status=400)
    except ConflictError as exc:
        return JsonResponse({"detail": exc.message, "code": exc.code},
                            status=502 if isinstance(exc, gateway.PaymentUnavailable) else 409)
    return JsonResponse({"client_secret": setup.client_secret, "setup_intent": setup.id})


@login_required
@never_cache
@require_GET
def saved_card_status(request):
    """Step 2: after Stripe.js confirmed the SetupIntent, record the card; the page then reloads."""
    try:
        saved = cards.sync_card_setups(buyer=request.user)
    except ConflictError as exc:
        return JsonResponse({"detail": exc.message, "code": exc.code}, status=409)
    return JsonResponse({"done": True, "saved": saved, "next_url": reverse("orders:saved_cards")})


@login_required
@require_POST
def saved_card_remove(request, pk: int):
    card = get_object_or_404(cards.usable_cards(request.user), pk=pk)
    try:
        cards.remove_card(card=card, buyer=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Card •••• %(last4)s is removed.") % {"last4": card.last4})
    return redirect("orders:saved_cards")
