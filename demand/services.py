"""Every write to the demand board and the search log: keyword-only, one transaction each."""
import unicodedata
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from notifications.services import Phrase, notify
from shops.models import Category, Product
from shops.selectors import products_managed_by

from .models import DemandPost, Offer, SearchLog

MAX_LOGGED_QUERY = 100


def _full_clean(instance, *, exclude=()) -> None:
    """Model validation, with the messages keyed by field (a 400 or a form error, never a 500)."""
    instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)


# --- Demand posts ---------------------------------------------------------------------

@transaction.atomic
def create_post(*, buyer: User, quantity: int, unit: str, province: str, city: str, needed_by: date,
                category: Category | None = None, words: str = "", max_price: Decimal | None = None,
                note: str = "") -> DemandPost:
    if not buyer.is_buyer:
        raise ValidationError({"__all__": [_("Only buyers can post what they want to buy.")]})
    post = DemandPost(buyer=buyer, category=category, words=(words or "").strip(), quantity=quantity, unit=unit,
                      province=(province or "").strip(), city=(city or "").strip(), needed_by=needed_by,
                      max_price=max_price, note=(note or "").strip())
    errors: dict[str, list[str]] = {}
    try:
        _full_clean(post, exclude=["buyer", "status"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not post.words and post.category is None:
        errors.setdefault("words", []).append(_("Say what you want: choose a category or type some words."))
    if isinstance(needed_by, date) and needed_by < timezone.localdate():
        errors.setdefault("needed_by", []).append(_("Choose today or a later date."))
    if errors:
        raise ValidationError(errors)
    post.save()
    return post


@transaction.atomic
def close_post(*, post: DemandPost) -> DemandPost:
    """Close a post (the buyer found what they needed); closing twice changes nothing."""
    post = DemandPost.objects.select_for_update().get(pk=post.pk)
    if post.status != DemandPost.Status.CLOSED:
        post.status = DemandPost.Status.CLOSED
        post.closed_at = timezone.now()
        post.save(update_fields=["status", "closed_at"])
    return post


# --- Offers ---------------------------------------------------------------------------

@transaction.atomic
def make_offer(*, post: DemandPost, farmer: User, product: Product, price: Decimal, quantity: int,
               note: str = "") -> Offer:
    """A farmer offers one of their own shop's products for an open post; the buyer is told."""
    if not farmer.is_farmer:
        raise ValidationError({"__all__": [_("Only farmers can answer with an offer.")]})
    post = (DemandPost.objects.select_for_update(of=("self",)).select_related("buyer", "category")
            .get(pk=post.pk))
    errors: dict[str, list[str]] = {}
    if not post.takes_offers:
        errors["__all__"] = [_("This request is closed; it takes no more offers.")]
    if product is None or not products_managed_by(farmer).filter(pk=product.pk, is_active=True).exists():
        errors["product"] = [_("Choose one of your own products that is on sale.")]
    offer = Offer(post=post, product=product, shop_id=getattr(product, "shop_id", None), made_by=farmer,
                  price=price, quantity=quantity, note=(note or "").strip())
    try:
        _full_clean(offer, exclude=["post", "product", "shop", "made_by"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if not errors and Offer.objects.filter(post=post, product=product).exists():
        errors["product"] = [_("You have already offered this product for this request.")]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            offer.save()
    except IntegrityError:  # a second offer for the same product raced this one
        raise ValidationError({"product": [_("You have already offered this product for this request.")]}) from None
    what, shop_name = post.what, product.shop.name
    notify(
        recipient=post.buyer, kind="demand_offer", link=post.get_absolute_url(), dedupe_key=f"demand-offer-{offer.pk}",
        subject=Phrase(gettext_noop("New offer for your request: %(what)s"), {"what": what}),
        body=Phrase(gettext_noop("%(shop)s offers %(quantity)s at ¥%(price)s per unit. Open your request to see the "
                                 "product."), {"shop": shop_name, "quantity": quantity, "price": offer.price}),
    )
    return offer


# --- Searches that found nothing ------------------------------------------------------

def normalise_query(text: str) -> str:
    """Full-width to half-width, lower case, single spaces, at most 100 characters."""
    return " ".join(unicodedata.normalize("NFKC", text or "").lower().split())[:MAX_LOGGED_QUERY]


@transaction.atomic
def record_search_miss(*, query: str, category: str = "", province: str = "", day: date | None = None) -> None:
    """Count one catalogue search that found nothing. Only the words and the filters are kept, never who
    searched: one row per day, words, category and province, whose counter goes up."""
    query = normalise_query(query)
    if not query:
        return
    key = {"day": day or timezone.localdate(), "query": query, "category": (category or "")[:60],
           "province": " ".join((province or "").split())[:30]}
    if SearchLog.objects.filter(**key).update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            SearchLog.objects.create(**key, count=1)
    except IntegrityError:  # another request created today's row first
        SearchLog.objects.filter(**key).update(count=F("count") + 1)
