import io
import os
import re

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F

from accounts import demo as accounts_demo
from accounts.models import User
from shops import demo
from shops.models import HarvestLot, InputApplication, Product, ProductImage, Shop, ShopMember, gtin_is_valid

pytestmark = pytest.mark.django_db


def load_catalogue(capture) -> None:
    """What `manage.py load_demo` does for these two apps: each in its own transaction, in order."""
    with capture(execute=True):  # after-commit work (thumbnails, eager here) runs as on a real commit
        for module in (accounts_demo, demo):
            with transaction.atomic():
                module.load(io.StringIO())


def counts() -> dict:
    return {model.__name__: model.objects.count()
            for model in (User, Shop, ShopMember, Product, ProductImage, HarvestLot, InputApplication)}


def media_files() -> list[str]:
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(default_storage.location) for f in fs)


@pytest.fixture
def small_photos(monkeypatch):
    monkeypatch.setattr(demo, "PHOTO_SIZE", (400, 300))  # same code path, quicker to encode


def test_demo_catalogue_is_complete_and_a_second_load_adds_nothing(django_capture_on_commit_callbacks,
                                                                   small_photos):
    # One test, because loading the catalogue (with its photos) is what takes the time.
    load_catalogue(django_capture_on_commit_callbacks)
    first, files = counts(), media_files()
    assert first["Shop"] == 12 and first["Product"] >= 60 and first["ProductImage"] > first["Product"]
    load_catalogue(django_capture_on_commit_callbacks)
    assert counts() == first
    assert media_files() == files

    shops = Shop.objects.select_related("village", "owner")
    assert {"farmer", "farmer2", "farmer3"} <= {s.owner.username for s in shops}
    assert len({s.village_id for s in shops}) == 6 and len({s.village.province for s in shops}) == 3
    assert shops.filter(kind=Shop.Kind.COOPERATIVE).count() >= 3
    assert shops.filter(verification=Shop.Verification.VERIFIED).count() >= 6
    for coop in shops.filter(kind=Shop.Kind.COOPERATIVE):
        assert coop.memberships.exclude(user=coop.owner).exists()
    pending = shops.get(verification=Shop.Verification.PENDING)
    assert pending.licence_photo  # sent through submit_verification, which checks the photo

    products = list(Product.objects.select_related("category").prefetch_related("images"))
    assert all(p.category.slug and p.search_document and p.price > 0 and p.unit_weight_kg > 0 for p in products)
    assert any(re.fullmatch(r"[A-Za-z0-9 ',()×.\-]+", p.title) for p in products)  # some English titles
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", p.title)) for p in products) >= 40
    with_gtin = [p.gtin for p in products if p.gtin]
    assert len(with_gtin) >= 3 and all(gtin_is_valid(code) for code in with_gtin)
    assert any(p.season_mask for p in products) and any(p.organic for p in products)

    for product in products:
        photos = list(product.images.all())
        assert 1 <= len(photos) <= 2 and sum(p.is_cover for p in photos) == 1
        for photo in photos:
            assert photo.status == ProductImage.Status.READY and "320" in photo.thumbnails
            assert all(default_storage.exists(name) for name in photo.thumbnails.values())

    lots = HarvestLot.objects.all()
    assert lots.count() >= 10 and InputApplication.objects.filter(kind=InputApplication.Kind.PESTICIDE).exists()
    assert lots.filter(phi_violation=True).count() == 1
    # Cooperative lots name the member who grew them.
    assert lots.filter(product__shop__kind=Shop.Kind.COOPERATIVE).exclude(grower=F("product__shop__owner")).exists()

    extra = User.objects.get(username="farmer9")  # a farmer added by the catalogue demo can sign in
    assert extra.role == User.Role.FARMER and extra.check_password(accounts_demo.DEMO_PASSWORD)
