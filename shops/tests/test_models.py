"""Shop, category and product URLs and labels as pages show them: the same as Django's reverse() and
get_FOO_display(), without their cost per call."""
import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("prefix", ["/", "/market/"])
def test_product_and_category_urls_are_what_reverse_gives_under_any_script_prefix(prefix):
    from django.urls import reverse, set_script_prefix

    from shops.models import category_url, product_url

    set_script_prefix(prefix)
    try:
        assert category_url("fresh-fruit_2") == reverse("shops:category", args=["fresh-fruit_2"])
        assert product_url(42) == reverse("shops:product", args=[42])
        assert category_url("tea").startswith(prefix)
    finally:
        set_script_prefix("/")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_unit_and_kind_labels_are_what_django_would_show(language):
    from django.db.models.base import Model
    from django.utils import translation

    from shops.models import Product, Shop

    with translation.override(language):
        for unit in [*Product.Unit.values, "crate"]:  # "crate": a value no longer among the choices
            product = Product(unit=unit)
            assert product.get_unit_display() == Model._get_FIELD_display(product, Product._meta.get_field("unit"))
        for kind in Shop.Kind.values:
            shop = Shop(kind=kind)
            assert shop.get_kind_display() == Model._get_FIELD_display(shop, Shop._meta.get_field("kind"))
    from django.urls import reverse

    assert Shop(slug="hill-farm").get_absolute_url() == reverse("shops:shop", args=["hill-farm"])
