"""The public lot page /t/<code>: where a lot comes from and what was applied to it, for anyone holding the code.

Only what a buyer may know is shown: product, farm, village, the grower's display name, harvest and
inputs. Never a phone number, an email address or anything about buyers.
"""
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import get_language

from marketplace import codes
from shops import selectors, services
from shops.models import HarvestLot
from shops.seller_views import input_checks


def lot_page(request, code: str):
    try:
        found = services.find_lot(code)
    except ValidationError:
        # A mistyped code (wrong check character) is simply not a page.
        raise Http404("lot code is not valid")
    if found is None:
        raise Http404("no such lot")
    lot = selectors.lot_with_inputs(HarvestLot.objects.filter(pk=found.pk)).get()
    product, shop = lot.product, lot.product.shop
    village = shop.village
    chinese = (get_language() or "").startswith("zh")
    return render(request, "traceability/lot.html", {
        "lot": lot, "product": product, "shop": shop, "village": village,
        "village_name": village.name if chinese or not village.name_en else f"{village.name_en} ({village.name})",
        "grower_name": lot.grower.display_name,
        "code_display": codes.display(lot.code),
        "checks": input_checks(lot),
        "certifications": [label for flag, label in (
            (product.organic, product._meta.get_field("organic").verbose_name),
            (product.green_food, product._meta.get_field("green_food").verbose_name),
            (product.geographical_indication, product._meta.get_field("geographical_indication").verbose_name),
        ) if flag],
    })
