"""Money to the farmers: balances, entries, payouts and statements for sellers; payout runs, transfers and
adjustments for staff; stations' cash for agents. Thin: serializers check the shape, selectors scope the rows
(another shop's balance, entry or payout is a 404), services do every write."""
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView, get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import StandardPagination
from shops.models import Shop

from . import commission, selectors, services
from .models import CashRemittance, JournalEntry, Payout, PayoutAccount, PayoutBatch
from .statements import batch_csv, statement_csv

SHOP_PARAM = OpenApiParameter("shop", OpenApiTypes.STR, description="The shop's slug (default: your first shop).")


def shop_or_404(request) -> Shop:
    try:
        return selectors.shop_for(request.user, request.query_params.get("shop"))
    except ObjectDoesNotExist:
        raise NotFound()


class IsStaff(permissions.IsAuthenticated):
    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.user.is_staff


# --- Seller -----------------------------------------------------------------------------------------------------------

class BalanceSerializer(serializers.Serializer):
    shop = serializers.CharField()
    currency = serializers.CharField()
    pending = serializers.DecimalField(max_digits=14, decimal_places=2)
    available = serializers.DecimalField(max_digits=14, decimal_places=2)
    scheduled = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_out = serializers.DecimalField(max_digits=14, decimal_places=2)
    commission_rate = serializers.DecimalField(max_digits=5, decimal_places=4)


class BalanceView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[SHOP_PARAM], responses=BalanceSerializer)
    def get(self, request):
        shop = shop_or_404(request)
        balance = selectors.balance_of(shop)
        data = {"shop": shop.slug, "currency": settings.CURRENCY, "pending": balance.pending,
                "available": balance.available, "scheduled": balance.scheduled, "paid_out": balance.paid_out,
                "commission_rate": commission.shop_rate(shop)}
        return Response(BalanceSerializer(data).data)


class EntrySerializer(serializers.ModelSerializer):
    time = serializers.DateTimeField(source="created_at")
    amount = serializers.DecimalField(source="shop_amount", max_digits=14, decimal_places=2)
    order_number = serializers.CharField(source="order.number", default=None)
    shop_order = serializers.IntegerField(source="shop_order_id")
    payout = serializers.IntegerField(source="payout_id")
    memo = serializers.CharField(source="memo_text")

    class Meta:
        model = JournalEntry
        fields = ("id", "time", "kind", "amount", "order_number", "shop_order", "payout", "memo")


class ShopRowsList(ListAPIView):
    """A list of one shop's money rows (`?shop=<slug>`, a shop the user manages), paginated."""

    permission_classes = [permissions.IsAuthenticated]
    pagination_class = StandardPagination
    model = None  # the rows' model, for the schema
    rows_of = None  # selector: shop -> queryset

    @extend_schema(parameters=[SHOP_PARAM])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return type(self).rows_of(shop_or_404(self.request))


class EntryList(ShopRowsList):
    serializer_class = EntrySerializer
    model = JournalEntry
    rows_of = staticmethod(selectors.seller_entries)


class PayoutSerializer(serializers.ModelSerializer):
    shop = serializers.CharField(source="shop.slug")
    created = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Payout
        fields = ("id", "number", "shop", "amount", "status", "created", "paid_at", "reference", "failure_reason",
                  "payee", "bank", "account_last4")


class PayoutList(ShopRowsList):
    serializer_class = PayoutSerializer
    model = Payout
    rows_of = staticmethod(selectors.payouts_of)


class PayoutDetail(RetrieveAPIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = PayoutSerializer

    def get_queryset(self):
        return selectors.payouts_for(self.request.user)


class PayoutStatementCsv(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, pk):
        payout = get_object_or_404(selectors.payouts_for(request.user), pk=pk)
        return csv_response(statement_csv(payout), f"statement-{payout.number}.csv")


def csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class PayoutAccountSerializer(serializers.Serializer):
    holder = serializers.CharField(max_length=80)
    bank = serializers.CharField(max_length=80)
    account_number = serializers.CharField(max_length=60, write_only=True)
    account_last4 = serializers.CharField(read_only=True)
    hold_until = serializers.DateTimeField(read_only=True)


class PayoutAccountView(APIView):
    """A shop's payout account: managers read (last four digits only) and replace it; staff read any."""

    permission_classes = [permissions.IsAuthenticated]

    def _shop(self, request, slug) -> Shop:
        return get_object_or_404(selectors.money_shops(request.user), slug=slug)

    @extend_schema(responses=PayoutAccountSerializer)
    def get(self, request, slug):
        shop = self._shop(request, slug)
        account = PayoutAccount.objects.filter(shop=shop).first()
        if account is None:
            raise NotFound()
        return Response(PayoutAccountSerializer(account).data)

    @extend_schema(request=PayoutAccountSerializer, responses=PayoutAccountSerializer)
    def put(self, request, slug):
        shop = self._shop(request, slug)
        serializer = PayoutAccountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.set_payout_account(shop=shop, actor=request.user, **serializer.validated_data)
        return Response(PayoutAccountSerializer(account).data)


# --- Staff ------------------------------------------------------------------------------------------------------------

class RunSerializer(serializers.Serializer):
    period = serializers.RegexField(r"^[0-9A-Za-z-]{1,30}$", required=False,
                                    help_text="The batch's period (default: this ISO week, e.g. 2026-W49).")
    shop = serializers.SlugRelatedField(slug_field="slug", queryset=Shop.objects.all(), required=False,
                                        help_text="Pay only this shop, now, in a batch of its own.")


class RunResultSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    period = serializers.CharField()
    payouts = serializers.IntegerField()


class PayoutRunView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=RunSerializer, responses={201: RunResultSerializer})
    def post(self, request):
        serializer = RunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shop = serializer.validated_data.get("shop")
        if shop is not None:
            payout = services.pay_shop_now(shop=shop, actor=request.user)
            batch, made = payout.batch, 1
        else:
            batch, made = services.run_payouts(actor=request.user, period=serializer.validated_data.get("period"))
        return Response({"batch": batch.pk, "period": batch.period, "payouts": made}, status=status.HTTP_201_CREATED)


class BatchExportCsv(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, pk):
        batch = get_object_or_404(PayoutBatch, pk=pk)
        return csv_response(batch_csv(batch), f"payouts-{batch.period}.csv")


class PaidSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=80)


class FailureSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class MarkPaidView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=PaidSerializer, responses=PayoutSerializer)
    def post(self, request, pk):
        payout = get_object_or_404(Payout, pk=pk)
        serializer = PaidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = services.mark_payout_paid(payout=payout, actor=request.user, **serializer.validated_data)
        return Response(PayoutSerializer(payout).data)


class MarkFailedView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=FailureSerializer, responses=PayoutSerializer)
    def post(self, request, pk):
        payout = get_object_or_404(Payout, pk=pk)
        serializer = FailureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = services.mark_payout_failed(payout=payout, actor=request.user, **serializer.validated_data)
        return Response(PayoutSerializer(payout).data)


class AdjustmentSerializer(serializers.Serializer):
    shop = serializers.SlugRelatedField(slug_field="slug", queryset=Shop.objects.all())
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    reason = serializers.CharField(max_length=200)
    direction = serializers.ChoiceField(choices=services.DIRECTIONS, default="credit")


class AdjustmentView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=AdjustmentSerializer, responses={201: EntrySerializer})
    def post(self, request):
        serializer = AdjustmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.adjust_balance(actor=request.user, **serializer.validated_data)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


# --- Agents' cash -----------------------------------------------------------------------------------------------------

class CashSerializer(serializers.Serializer):
    station = serializers.IntegerField()
    held = serializers.DecimalField(max_digits=14, decimal_places=2)
    pending = serializers.DecimalField(max_digits=14, decimal_places=2)
    remitted = serializers.DecimalField(max_digits=14, decimal_places=2)


class AgentCashView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=CashSerializer)
    def get(self, request):
        station = services.station_of_agent(request.user)
        return Response(CashSerializer(selectors.cash_position(station)).data)


class RemittanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = CashRemittance
        fields = ("id", "station", "amount", "status", "created_at", "confirmed_at")
        read_only_fields = ("id", "station", "status", "created_at", "confirmed_at")


class RemittanceCreate(GenericAPIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = RemittanceSerializer

    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        remittance = services.remit_cash(agent=request.user, amount=serializer.validated_data["amount"])
        return Response(RemittanceSerializer(remittance).data, status=status.HTTP_201_CREATED)


class RemittanceConfirm(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=None, responses=RemittanceSerializer)
    def post(self, request, pk):
        remittance = get_object_or_404(CashRemittance, pk=pk)
        remittance = services.confirm_remittance(remittance=remittance, actor=request.user)
        return Response(RemittanceSerializer(remittance).data)

