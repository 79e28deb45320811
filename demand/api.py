"""Demand board API: posts, offers on a post, and the demand summary.

Thin: serializers check the shape, selectors scope the rows to the user (another buyer's post is a
404), services do every write and check the rules (a date not in the past, one's own product ...).
"""
from decimal import Decimal

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from shops.filters import CategoryFilter
from shops.models import Category, Product

from . import selectors, services
from .models import MAX_QUANTITY, MAX_UNIT_PRICE, DemandPost, Offer

CURRENCY = "CNY"
MIN_PRICE = Decimal("0.01")
STATUS_SCHEMA = {"type": "string", "enum": list(DemandPost.Status.values),
                 "description": "open: taking offers; closed: the buyer closed it"}


# --- Filters --------------------------------------------------------------------------

class MonthField(forms.DateField):
    input_formats = ["%Y-%m"]


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2025-10"})
class MonthFilter(django_filters.Filter):
    """Posts needed in this month (YYYY-MM)."""

    field_class = MonthField

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(needed_by__year=value.year, needed_by__month=value.month)


class DemandFilter(django_filters.FilterSet):
    category = CategoryFilter(label=_("Category id or slug; a parent category includes its children"))
    province = django_filters.CharFilter(field_name="province", max_length=30)
    month = MonthFilter(label=_("Month needed, YYYY-MM"))

    class Meta:
        model = DemandPost
        fields: list[str] = []


class PostFilter(DemandFilter):
    status = django_filters.ChoiceFilter(choices=DemandPost.Status.choices,
                                         label=_("Only open or only closed posts (your own posts)"))


# --- Serializers ----------------------------------------------------------------------

class DemandPostSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    category_name = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    offer_count = serializers.IntegerField(read_only=True, help_text=_("Offers the post has received"))
    mine = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = DemandPost
        fields = ("id", "category", "category_name", "words", "what", "quantity", "unit", "province", "city",
                  "needed_by", "max_price", "currency", "note", "status", "offer_count", "mine", "created_at",
                  "closed_at", "url")
        read_only_fields = fields

    def get_category_name(self, obj) -> str:
        return obj.category.name if obj.category_id else ""

    @extend_schema_field(STATUS_SCHEMA)
    def get_status(self, obj) -> str:
        return obj.status

    def get_currency(self, obj) -> str:
        return CURRENCY

    def get_mine(self, obj) -> bool:
        return obj.buyer_id == self.context["request"].user.pk

    def get_url(self, obj) -> str:
        return obj.get_absolute_url()


class DemandPostCreateSerializer(serializers.Serializer):
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all(), required=False,
                                            allow_null=True, help_text=_("Category slug; give it, words, or both"))
    words = serializers.CharField(max_length=120, required=False, allow_blank=True, default="",
                                  help_text=_("What you want, e.g. Fuji apples, 80 mm or larger"))
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit = serializers.ChoiceField(choices=Product.Unit.choices)
    province = serializers.CharField(max_length=30)
    city = serializers.CharField(max_length=30)
    needed_by = serializers.DateField(help_text=_("Today or later"))
    max_price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=MIN_PRICE, max_value=MAX_UNIT_PRICE,
                                         required=False, allow_null=True, default=None,
                                         help_text=_("The price per unit you would pay, in CNY"))
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class OfferSerializer(serializers.ModelSerializer):
    product_title = serializers.CharField(source="product.title", read_only=True)
    product_url = serializers.SerializerMethodField()
    unit = serializers.CharField(source="product.unit", read_only=True)
    shop = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    shop_name = serializers.CharField(source="shop.name", read_only=True)
    province = serializers.CharField(source="shop.village.province", read_only=True)
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Offer
        fields = ("id", "post", "product", "product_title", "product_url", "unit", "shop", "shop_name", "province",
                  "price", "currency", "quantity", "note", "created_at")
        read_only_fields = fields

    def get_product_url(self, obj) -> str:
        return obj.product.get_absolute_url()

    def get_currency(self, obj) -> str:
        return CURRENCY


class OfferCreateSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(),
                                                 help_text=_("One of your own products on sale"))
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=MIN_PRICE, max_value=MAX_UNIT_PRICE,
                                     help_text=_("Price per unit, in CNY"))
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class DemandSummarySerializer(serializers.Serializer):
    month = serializers.SerializerMethodField(help_text=_("Month needed, YYYY-MM"))
    category = serializers.CharField(source="category__slug", allow_null=True,
                                     help_text=_("Category slug; null for posts given only by words"))
    category_name = serializers.SerializerMethodField()
    province = serializers.CharField()
    unit = serializers.ChoiceField(choices=Product.Unit.choices)
    posts = serializers.IntegerField(help_text=_("Open posts"))
    quantity = serializers.IntegerField(help_text=_("Total quantity wanted, in this unit"))

    def get_month(self, row) -> str:
        return row["month"].strftime("%Y-%m")

    def get_category_name(self, row) -> str:
        if not row["category_id"]:
            return ""
        category = Category(name_zh=row["category__name_zh"], name_en=row["category__name_en"])
        return category.name


# --- Views ----------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="Demand posts",
                       description="For a farmer, the open posts of every buyer (the board); for anyone else, "
                                   "their own posts."),
    retrieve=extend_schema(summary="One demand post"),
    create=extend_schema(summary="Post what you want to buy (buyers)", request=DemandPostCreateSerializer,
                         responses={201: DemandPostSerializer}),
)
class DemandPostViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        viewsets.GenericViewSet):
    serializer_class = DemandPostSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = PostFilter
    queryset = DemandPost.objects.none()  # the real rows come from get_queryset, scoped to the user

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            return selectors.listed_posts(user)
        if self.action == "close":
            return selectors.posts_of_buyer(user)
        return selectors.visible_posts(user)

    def create(self, request, *args, **kwargs):
        if not request.user.is_buyer:
            raise PermissionDenied(_("Only buyers can post what they want to buy."))
        data = DemandPostCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.create_post(buyer=request.user, **data.validated_data)
        post = selectors.posts_of_buyer(request.user).get(pk=post.pk)
        return Response(self.get_serializer(post).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Close your post", request=None, responses={200: DemandPostSerializer}, filters=False)
    @action(detail=True, methods=["post"], filterset_class=None)
    def close(self, request, pk=None):
        post = services.close_post(post=self.get_object())
        post = selectors.posts_of_buyer(request.user).get(pk=post.pk)
        return Response(self.get_serializer(post).data)


@extend_schema_view(
    get=extend_schema(summary="Offers on a post",
                      description="Every offer for the post's buyer; a farmer sees the offers of the shops they "
                                  "manage."),
    post=extend_schema(summary="Offer one of your products for a post (farmers)", request=OfferCreateSerializer,
                       responses={201: OfferSerializer}),
)
class PostOffersView(generics.ListCreateAPIView):
    serializer_class = OfferSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = None
    queryset = Offer.objects.none()

    def get_post(self) -> DemandPost:
        if not hasattr(self, "_post"):
            self._post = generics.get_object_or_404(selectors.visible_posts(self.request.user), pk=self.kwargs["pk"])
        return self._post

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Offer.objects.none()
        return selectors.offers_visible_on(self.get_post(), self.request.user)

    def create(self, request, *args, **kwargs):
        post = self.get_post()
        if not request.user.is_farmer:
            raise PermissionDenied(_("Only farmers can answer with an offer."))
        data = OfferCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        offer = services.make_offer(post=post, farmer=request.user, **data.validated_data)
        offer = selectors.offers_visible_on(post, request.user).get(pk=offer.pk)
        return Response(self.get_serializer(offer).data, status=status.HTTP_201_CREATED)


@extend_schema(summary="Open demand by month, category, province and unit",
               description="Counts of open posts and the total quantity wanted, aggregated by the database. "
                           "Quantities are added only within one unit.")
class DemandSummaryView(generics.ListAPIView):
    serializer_class = DemandSummarySerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = DemandFilter
    queryset = DemandPost.objects.none()

    def get_queryset(self):
        return selectors.open_posts()

    def filter_queryset(self, queryset):
        # Filter the posts first, then group what is left.
        return selectors.summarise(super().filter_queryset(queryset))

