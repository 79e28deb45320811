"""The mobile shell's tab bar: which tabs a visitor gets, and the counts they show.

Every count of a page (unread messages, cart lines, orders waiting for the farmer) comes from one query,
run only if the page renders one of them, and never for anonymous visitors: their pages are cached and
shared, so the shell they see carries nothing of their own. That query takes the place of the inbox count
query every signed-in page already made (this processor also provides `notifications_unread`).
"""
from dataclasses import dataclass

from django.db.models import F, Func, IntegerField, QuerySet, Subquery
from django.urls import reverse
from django.utils.functional import SimpleLazyObject, cached_property
from django.utils.translation import pgettext_lazy

from accounts.models import User
from notifications.selectors import inbox_for
from orders.models import CartItem, ShopOrder
from shops.selectors import shops_managed_by

# Parts of orders that wait for the shop: accept a new one, pack an accepted one.
AWAITING_SELLER = (ShopOrder.Status.NEW, ShopOrder.Status.ACCEPTED)


@dataclass(frozen=True)
class Tab:
    label: str
    url: str
    count: int = 0
    current: bool = False


@dataclass(frozen=True)
class Counts:
    unread: int = 0
    cart: int = 0
    waiting: int = 0  # the farmer's orders to accept or pack
    shops: int = 0  # shops the farmer manages, and the slug of the first (where "add product" leads)
    shop_slug: str | None = None


def _count(queryset: QuerySet) -> Subquery:
    """COUNT(*) of a queryset as a scalar subquery (no GROUP BY: the whole queryset is one group)."""
    return Subquery(queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1],
                    output_field=IntegerField())


def shell_counts(user: User, *, seller: bool) -> Counts:
    """Everything the shell counts for this user, in one query."""
    columns = {"unread": _count(inbox_for(user).filter(read_at__isnull=True)),
               "cart": _count(CartItem.objects.filter(cart__user=user))}
    if seller:
        shops = shops_managed_by(user)
        columns |= {"waiting": _count(ShopOrder.objects.filter(shop__in=shops.values("pk"),
                                                               status__in=AWAITING_SELLER)),
                    "shops": _count(shops.model.objects.filter(pk__in=shops.values("pk"))),
                    "shop_slug": Subquery(shops.order_by("pk").values("slug")[:1])}
    # Prefixed names: an annotation may not share a name with a field of User (its `cart`, for one).
    row = User.objects.filter(pk=user.pk).values(**{f"shell_{name}": column for name, column in columns.items()})
    found = row.first() or {}
    return Counts(**{name.removeprefix("shell_"): value for name, value in found.items() if value is not None})


class Shell:
    """`shell` in templates: the role whose tab bar is shown, and its tabs with their counts."""

    def __init__(self, user: User | None, path: str):
        self.user = user if user is not None and user.is_authenticated else None
        self.path = path

    @cached_property
    def role(self) -> str:
        if self.user is None:
            return "visitor"
        if self.user.is_agent:
            return "agent"
        if self.user.is_farmer:
            return "farmer"
        return "buyer"

    @cached_property
    def counts(self) -> Counts:
        if self.user is None:
            return Counts()
        return shell_counts(self.user, seller=self.role == "farmer")

    def add_product_url(self) -> str:
        # One shop: straight to its new-product form; none or several: the shop list says where to go.
        if self.counts.shops == 1 and self.counts.shop_slug:
            return reverse("shops:seller_product_create", kwargs={"slug": self.counts.shop_slug})
        return reverse("shops:seller_shops")

    @cached_property
    def tabs(self) -> list[Tab]:
        me = reverse("accounts:profile") if self.user else reverse("accounts:login")
        if self.role == "farmer":
            rows = [(pgettext_lazy("tab", "Shop"), reverse("shops:seller_shops"), 0),
                    (pgettext_lazy("tab", "Orders"), reverse("orders:seller_orders"), self.counts.waiting),
                    (pgettext_lazy("tab", "Add product"), self.add_product_url(), 0),
                    (pgettext_lazy("tab", "Inbox"), reverse("notifications:inbox"), self.counts.unread),
                    (pgettext_lazy("tab", "Me"), me, 0)]
        elif self.role == "agent":
            station = reverse("logistics:agent")
            rows = [(pgettext_lazy("tab", "Scan"), station, 0),
                    (pgettext_lazy("tab", "Parcels"), station + "#parcels", 0),
                    (pgettext_lazy("tab", "Shipments"), reverse("logistics:agent_shipments"), 0),
                    (pgettext_lazy("tab", "Cash"), reverse("ledger:agent_cash"), 0),
                    (pgettext_lazy("tab", "Me"), me, 0)]
        else:
            rows = [(pgettext_lazy("tab", "Home"), reverse("home"), 0),
                    (pgettext_lazy("tab", "Search"), reverse("shops:search"), 0),
                    (pgettext_lazy("tab", "Cart"), reverse("orders:cart"), self.counts.cart),
                    (pgettext_lazy("tab", "Orders"), reverse("orders:orders"), 0),
                    (pgettext_lazy("tab", "Me"), me, 0)]
        return [Tab(label=str(label), url=url, count=count, current=url == self.path) for label, url, count in rows]


def shell(request):
    """`shell`, and `notifications_unread` read from the shell's one query, so a page counts once whatever it
    shows (and not at all when it shows neither)."""
    current = SimpleLazyObject(lambda: Shell(getattr(request, "user", None), request.path))
    return {"shell": current, "notifications_unread": SimpleLazyObject(lambda: current.counts.unread)}
