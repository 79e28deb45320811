"""Shops API: villages, shops and members, categories, products and photos, harvest lots.

Thin: serializers check the shape, selectors scope the rows to the user (another user's shop,
product or lot is a 404), services do every write.
"""
import hashlib
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

from accounts.models import User, phone_validator
from core.pagination import StandardPagination

from . import images, search, selectors, services
from .cache import catalogue_key, listing_prices_key
from .filters import (
    CategoryChoiceField,
    HarvestLotFilter,
    ProductFilter,
    ShopFilter,
    StrictBooleanField,
    VillageFilter,
    category_tree_order,
)
from .models import (
    DESCRIPTION_MAX_LENGTH,
    NOTES_MAX_LENGTH,
    Category,
    HarvestLot,
    InputApplication,
    Product,
    ProductImage,
    Shop,
    ShopMember,
    Village,
)

# Short: the version bump already invalidates on every write; this only bounds memory.
PRODUCT_LIST_CACHE_SECONDS = 300


class ListingCountPaginator(Paginator):
    """A page of the public catalogue whose `count` is kept in the cache, keyed by the count query itself, until
    the listing's membership or a price changes: the next page, another ordering or another client's copy of the
    same search reads it instead of counting every match again (a COUNT over 8,000 matches costs as much as the
    ranked page)."""

    @cached_property
    def count(self) -> int:
        query = self.object_list.order_by().query
        key = listing_prices_key("api-count", hashlib.sha256(str(query).encode()).hexdigest())
        found = cache.get(key)
        if found is None:
            found = super().count
            cache.set(key, found, timeout=PRODUCT_LIST_CACHE_SECONDS)
        return found


class PublicProductPagination(StandardPagination):
    django_paginator_class = ListingCountPaginator


def _flag(request, name: str) -> bool:
    """A true/false query parameter; a bad value counts as false here and is refused by the filterset."""
    try:
        return bool(StrictBooleanField().clean(request.query_params.get(name)))
    except DjangoValidationError:
        return False


def _category_slug(value: str) -> str:
    """The slug of a `?category=` given by id or slug, as `CategoryChoiceField` reads it (one query for an id)."""
    text = (value or "").strip()
    if not text.isdigit():
        return text
    return Category.objects.filter(pk=int(text)).values_list("slug", flat=True).first() or ""


# --- Villages --------------------------------------------------------------------------

class VillageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Village
        fields = ("id", "name", "name_en", "township", "county", "city", "province")


class VillageViewSet(viewsets.ReadOnlyModelViewSet):
    """Villages where shops can be; `?province=` and `?search=` (name, township, county or city)."""

    queryset = Village.objects.all()
    serializer_class = VillageSerializer
    permission_classes = [permissions.AllowAny]
    filterset_class = VillageFilter


# --- Shops -----------------------------------------------------------------------------

class ShopSerializer(serializers.ModelSerializer):
    village = serializers.PrimaryKeyRelatedField(queryset=Village.objects.all())
    village_name = serializers.CharField(source="village.name", read_only=True)
    province = serializers.CharField(source="village.province", read_only=True)
    verified = serializers.BooleanField(read_only=True)
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True,
                                        help_text=_("Plain text or simple formatting; scripts are removed."))
    contact_phone = serializers.CharField(max_length=20, required=False, allow_blank=True,
                                          validators=[phone_validator],
                                          help_text=_("Shown to buyers only after they order; only managers see it "
                                                      "here."))
    verification = serializers.ChoiceField(
        choices=Shop.Verification.choices, read_only=True, allow_null=True,
        help_text=_("The review of the shop's licence, for its owner and managers; null for everyone else."))

    class Meta:
        model = Shop
        fields = ("slug", "name", "kind", "village", "village_name", "province", "description", "verified",
                  "is_open", "contact_phone", "verification", "created_at")
        read_only_fields = ("slug", "verification", "created_at")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("manager"):
            # Only the shop's managers see these: the public never sees the phone number (an optional field,
            # left out) nor the verification state (always present in the schema, so null here).
            data.pop("contact_phone", None)
            data["verification"] = None
        return data


class ShopMemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(max_length=150, source="user.username")
    display_name = serializers.CharField(source="user.display_name", read_only=True)
    role = serializers.ChoiceField(choices=ShopMember.Role.choices, default=ShopMember.Role.MEMBER)

    class Meta:
        model = ShopMember
        fields = ("id", "username", "display_name", "role", "joined_at")
        read_only_fields = ("id", "joined_at")


class ShopMemberPageSerializer(serializers.Serializer):
    """The paginated shape of the members list, for the schema."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ShopMemberSerializer(many=True)


class ShopPermission(permissions.IsAuthenticatedOrReadOnly):
    """Anyone reads; only a farmer opens a shop (checked before the body, so a buyer gets 403, not 400)."""

    message = _("Only farmers can open a shop.")

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if view.action == "create":
            return request.user.role == User.Role.FARMER
        return True


class ShopViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Farms and cooperatives. Open shops are public; only the owner and managers change one."""

    serializer_class = ShopSerializer
    permission_classes = [ShopPermission]
    filterset_class = ShopFilter
    lookup_field = "slug"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            if _flag(self.request, "mine"):
                return selectors.shops_managed_by(user).select_related("village")
            return selectors.public_shops()
        if self.action == "retrieve" and user.is_authenticated:
            return Shop.objects.filter(Q(is_open=True) | Q(pk__in=selectors.shops_managed_by(user))
                                       ).select_related("village")
        if self.action == "retrieve":
            return selectors.public_shops()
        # Writes: only shops the user manages; any other is a 404.
        return selectors.shops_managed_by(user).select_related("village")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["manager"] = self.action != "retrieve" and (self.action != "list" or _flag(self.request, "mine"))
        return context

    def retrieve(self, request, *args, **kwargs):
        shop = self.get_object()
        manager = selectors.can_manage_shop(request.user, shop)
        return Response(self.get_serializer_class()(shop, context={**self.get_serializer_context(),
                                                                    "manager": manager}).data)

    def perform_create(self, serializer):
        serializer.instance = services.create_shop(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update_shop(shop=serializer.instance, actor=self.request.user,
                                                   **serializer.validated_data)

    @extend_schema(methods=["GET"], responses=ShopMemberPageSerializer, filters=False,
                   operation_id="shops_members_list",
                   parameters=[OpenApiParameter("page", OpenApiTypes.INT),
                               OpenApiParameter("page_size", OpenApiTypes.INT)])
    @extend_schema(methods=["POST"], request=ShopMemberSerializer, responses={201: ShopMemberSerializer})
    @action(detail=True, methods=["get", "post"], serializer_class=ShopMemberSerializer, filterset_class=None)
    def members(self, request, slug=None):
        """Members of a cooperative (managers only): list, or add a farmer by username."""
        shop = self.get_object()
        if request.method == "POST":
            data = ShopMemberSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            member = services.add_member(shop=shop, actor=request.user,
                                         username=data.validated_data["user"]["username"],
                                         role=data.validated_data["role"])
            return Response(ShopMemberSerializer(member).data, status=status.HTTP_201_CREATED)
        memberships = shop.memberships.select_related("user").order_by("joined_at", "id")
        page = self.paginate_queryset(memberships)
        return self.get_paginated_response(ShopMemberSerializer(page, many=True).data)

    @extend_schema(request=None, responses={204: None}, filters=False)
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<member_id>[0-9]+)", filterset_class=None)
    def remove_member(self, request, slug=None, member_id=None):
        shop = self.get_object()
        membership = get_object_or_404(shop.memberships.select_related("shop"), pk=member_id)
        services.remove_member(membership=membership, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Categories -----------------------------------------------------------------------

class CategorySerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text=_("The name in the request's language."))

    class Meta:
        model = Category
        fields = ("id", "slug", "name_zh", "name_en", "name", "parent", "position")


class CategoryPagination(StandardPagination):
    # The whole tree fits in one page, so a client draws it from a single request.
    page_size = 100


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The category tree, flat: each parent followed by its children; `parent` is null at the top."""

    serializer_class = CategorySerializer
    permission_classes = [permissions.AllowAny]
    pagination_class = CategoryPagination
    filterset_class = None

    def get_queryset(self):
        return Category.objects.order_by(*category_tree_order())


# --- Products -------------------------------------------------------------------------

class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnails = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ("id", "url", "thumbnails", "is_cover", "alt_text", "status", "width", "height", "position")

    def _absolute(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj) -> str:
        return self._absolute(obj.image.url) if obj.image else ""

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string", "format": "uri"},
                          "description": "Width in pixels -> WebP URL; empty while the photo is processing."})
    def get_thumbnails(self, obj) -> dict:
        storage = obj.image.storage
        return {width: self._absolute(storage.url(name)) for width, name in (obj.thumbnails or {}).items()}


class ProductImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text=_("A JPEG, PNG, WebP or HEIC photo."))
    alt_text = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    is_cover = serializers.BooleanField(required=False, default=False)


class ProductImageUpdateSerializer(serializers.Serializer):
    is_cover = serializers.BooleanField(required=False)
    position = serializers.IntegerField(required=False, min_value=0, max_value=1000)


class CategoryField(serializers.RelatedField):
    """A category by id or slug on input; its id on output."""

    default_error_messages = {"invalid": _("No category has this id or slug.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Category.objects.all())
        super().__init__(**kwargs)

    def use_pk_only_optimization(self):
        return True

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        try:
            return CategoryChoiceField().clean(data)
        except DjangoValidationError:
            self.fail("invalid")

    def to_representation(self, value):
        return value.pk


class CategoryFieldExtension(OpenApiSerializerFieldExtension):
    target_class = CategoryField

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "Category id or slug."}
        return {"type": "integer", "description": "Category id."}


class ProductSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="slug", queryset=Shop.objects.none(),
                                        help_text=_("The slug of a shop you manage; fixed once created."))
    category = CategoryField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"),
                                     max_value=Decimal("100000"), required=False,
                                     help_text=_("Price per unit; for a product sold by weight, the estimate "
                                                 "(price per kg x estimated weight), set by the site."))
    currency = serializers.SerializerMethodField()
    season_months = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=12),
                                          max_length=12, required=False,
                                          help_text=_("Months in season, 1 to 12."))
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True,
                                        help_text=_("Plain text or simple formatting; scripts are removed."))
    images = ProductImageSerializer(many=True, read_only=True)
    price_per_kg = serializers.DecimalField(max_digits=12, decimal_places=2, required=False,
                                            min_value=Decimal("0.01"), max_value=Decimal("100000"),
                                            help_text=_("Written only for a product sold by weight "
                                                        "(pricing \"weight\"); read for every product."))
    estimated_weight_kg = serializers.DecimalField(max_digits=8, decimal_places=3, read_only=True,
                                                   help_text=_("Sold by weight: the estimated weight of one unit "
                                                               "(unit_weight_kg)."))
    in_stock = serializers.BooleanField(read_only=True)
    certified = serializers.BooleanField(read_only=True)

    class Meta:
        model = Product
        fields = ("id", "shop", "title", "description", "category", "unit", "unit_weight_kg", "price", "currency",
                  "stock", "min_order", "is_active", "images", "perishable", "cold_chain", "season_months", "origin",
                  "organic", "green_food", "geographical_indication", "certified", "gtin", "price_per_kg",
                  "pricing", "estimated_weight_kg", "in_stock", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if self.instance is not None:
            self.fields["shop"].read_only = True
        elif request is not None:
            self.fields["shop"].queryset = selectors.shops_managed_by(request.user)

    def get_currency(self, obj) -> str:
        return settings.CURRENCY

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if "price_per_kg" in attrs:
            attrs["kg_price"] = attrs.pop("price_per_kg")
        pricing = attrs.get("pricing", getattr(self.instance, "pricing", Product.Pricing.UNIT))
        if pricing == Product.Pricing.WEIGHT:
            if not attrs.get("kg_price", getattr(self.instance, "kg_price", None)):
                raise serializers.ValidationError({"price_per_kg": [_("Enter the price per kg of a product sold "
                                                                      "by weight.")]})
            attrs.pop("price", None)  # the estimate is derived from the price per kg
        elif self.instance is None and "price" not in attrs:
            raise serializers.ValidationError({"price": [_("This field is required.")]})
        return attrs


@extend_schema_view(
    list=extend_schema(description="Products on sale (`?mine=true`: the products of the shops I manage, on "
                                   "sale or not). Anonymous responses are cached until the catalogue changes."),
)
class ProductViewSet(viewsets.ModelViewSet):
    """The catalogue. Reads are public; only the managers of a product's shop change it."""

    serializer_class = ProductSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    filterset_class = ProductFilter
    # Used only by the photo upload action, the one that adds ScopedRateThrottle.
    throttle_scope = "uploads"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @property
    def paginator(self):
        # The public catalogue keeps its counts; a seller's own list (`?mine=true`) is counted every time.
        if not hasattr(self, "_paginator"):
            request = getattr(self, "request", None)  # none while the schema is generated
            public = request is None or (self.action == "list" and not _flag(request, "mine"))
            self._paginator = PublicProductPagination() if public else StandardPagination()
        return self._paginator

    def get_queryset(self):
        user = self.request.user
        if self.action == "list" and not _flag(self.request, "mine"):
            return selectors.public_products()
        if self.action == "retrieve" and user.is_authenticated:
            # A manager also reads their own products that are off sale.
            return (Product.objects.filter(Q(is_active=True, shop__is_open=True)
                                           | Q(shop__in=selectors.shops_managed_by(user)))
                    .select_related("shop", "shop__village", "category")
                    .prefetch_related(selectors.ordered_images()))
        if self.action == "retrieve":
            return selectors.public_products()
        # `?mine=true` and every write: the user's own products only; another's is a 404.
        return (selectors.products_managed_by(user).select_related("shop__village")
                .prefetch_related(selectors.ordered_images()))

    def list(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            response = super().list(request, *args, **kwargs)
            self._report_search(request, response.data)
            return response
        # The key carries the catalogue version, so any product write makes every cached list stale.
        url = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
        key = catalogue_key("api-products", get_language(), url)
        data = cache.get(key)
        if data is not None:
            self._report_search(request, data)
            return Response(data)
        response = super().list(request, *args, **kwargs)
        cache.set(key, response.data, timeout=PRODUCT_LIST_CACHE_SECONDS)
        self._report_search(request, response.data)
        return response

    def _report_search(self, request, data) -> None:
        """Announce a `?search=` of the catalogue, as the search page does (the filterset has accepted
        every parameter by now); a seller's search of their own products (`?mine=true`) is not one."""
        params = request.query_params
        if not params.get("search", "").strip() or _flag(request, "mine"):
            return
        search.report_search(query=params["search"], results=data["count"], via=search.VIA_API,
                             category=_category_slug(params.get("category", "")),
                             province=params.get("province", "").strip(), user=request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        shop = data.pop("shop")
        serializer.instance = services.create_product(shop=shop, actor=self.request.user, **data)

    def perform_update(self, serializer):
        serializer.instance = services.update_product(product=serializer.instance, actor=self.request.user,
                                                      **serializer.validated_data)

    def perform_destroy(self, instance):
        services.withdraw_product(product=instance, actor=self.request.user)

    @extend_schema(request={"multipart/form-data": ProductImageUploadSerializer},
                   responses={201: ProductImageSerializer}, filters=False)
    @action(detail=True, methods=["post"], url_path="images", parser_classes=[MultiPartParser, FormParser],
            throttle_classes=[AnonRateThrottle, UserRateThrottle, ScopedRateThrottle], filterset_class=None)
    def upload_image(self, request, pk=None):
        """Add a photo; its thumbnails appear (status `ready`) once the background task has made them."""
        product = self.get_object()
        data = ProductImageUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        photo = images.add_product_image(product=product, actor=request.user, upload=data.validated_data["image"],
                                         alt_text=data.validated_data["alt_text"],
                                         make_cover=data.validated_data["is_cover"])
        return Response(ProductImageSerializer(photo, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(methods=["PATCH"], request=ProductImageUpdateSerializer, responses=ProductImageSerializer,
                   filters=False)
    @extend_schema(methods=["DELETE"], request=None, responses={204: None}, filters=False)
    @action(detail=True, methods=["patch", "delete"], url_path=r"images/(?P<image_id>[0-9]+)",
            filterset_class=None)
    def image(self, request, pk=None, image_id=None):
        """Make a photo the cover or move it (PATCH), or delete it and its thumbnails (DELETE)."""
        product = self.get_object()
        photo = get_object_or_404(ProductImage.objects.select_related("product__shop"), product=product,
                                  pk=image_id)
        if request.method == "DELETE":
            images.delete_image(image=photo, actor=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = ProductImageUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data.get("is_cover"):
            images.set_cover_image(image=photo, actor=request.user)
        if "position" in data.validated_data:
            images.move_image(image=photo, actor=request.user, position=data.validated_data["position"])
        photo.refresh_from_db()
        return Response(ProductImageSerializer(photo, context=self.get_serializer_context()).data)


# --- Harvest lots ---------------------------------------------------------------------

class InputApplicationSerializer(serializers.ModelSerializer):
    violates_pre_harvest_interval = serializers.SerializerMethodField()

    class Meta:
        model = InputApplication
        fields = ("id", "kind", "product_name", "applied_on", "dose", "pre_harvest_interval_days", "notes",
                  "violates_pre_harvest_interval")
        read_only_fields = ("id",)

    def get_violates_pre_harvest_interval(self, obj) -> bool:
        return obj.violates_pre_harvest_interval(obj.lot.harvested_on)


class HarvestLotSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.none(),
                                                 help_text=_("A product of a shop you manage."))
    grower = serializers.CharField(source="grower.username", max_length=150, required=False,
                                   help_text=_("The username of a member of the shop; you by default."))
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    notes = serializers.CharField(max_length=NOTES_MAX_LENGTH, required=False, allow_blank=True)
    trace_url = serializers.URLField(read_only=True)
    inputs = InputApplicationSerializer(many=True, read_only=True)

    class Meta:
        model = HarvestLot
        fields = ("id", "product", "code", "harvested_on", "quantity", "grower", "plot", "notes", "phi_violation",
                  "trace_url", "inputs", "created_at")
        read_only_fields = ("id", "code", "phi_violation", "created_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["product"].queryset = selectors.products_managed_by(request.user)


@extend_schema_view(
    create=extend_schema(description="Record a harvest lot; its code and trace URL are made here."),
)
class HarvestLotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        viewsets.GenericViewSet):
    """Harvest lots of the shops the user manages (the public reads a lot on its trace page)."""

    serializer_class = HarvestLotSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = HarvestLotFilter

    def get_queryset(self):
        return selectors.lot_with_inputs(selectors.lots_managed_by(self.request.user))

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        product = data.pop("product")
        username = data.pop("grower", {}).get("username")
        grower = None
        if username:
            # The same answer for an unknown username and for a non-member: no probing for accounts.
            grower = User.objects.filter(username__iexact=username.strip()).first()
            if grower is None:
                raise serializers.ValidationError({"grower": [_("The grower must be a member of this shop.")]})
        lot = services.record_lot(product=product, actor=self.request.user, grower=grower, **data)
        serializer.instance = self.get_queryset().get(pk=lot.pk)

    @extend_schema(request=InputApplicationSerializer, responses={201: HarvestLotSerializer}, filters=False)
    @action(detail=True, methods=["post"], serializer_class=InputApplicationSerializer, filterset_class=None)
    def inputs(self, request, pk=None):
        """Log a fertiliser or pesticide applied to the lot's plot; answers the lot with its updated PHI flag."""
        lot = self.get_object()
        data = InputApplicationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.add_input_application(lot=lot, actor=request.user, **data.validated_data)
        lot = self.get_queryset().get(pk=lot.pk)
        return Response(HarvestLotSerializer(lot, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)
