"""Shop descriptions are sanitised wherever they are shown (finding 5); free text has length limits in every
form, serializer and service (finding 7); the Shop schema matches what non-managers get (finding 8)."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.tests.factories import FarmerFactory
from shops import services
from shops.forms import LotForm, ProductForm, ShopForm
from shops.models import DESCRIPTION_MAX_LENGTH, NOTES_MAX_LENGTH, Shop

from .factories import CategoryFactory, ProductFactory, ShopFactory, VillageFactory

pytestmark = pytest.mark.django_db
SCRIPT = '<p>苹果园</p><script>alert("owner")</script><img src=x onerror="steal()"><a href="javascript:x">x</a>'


def test_shop_description_written_past_the_services_is_clean_on_the_owners_page(client):
    # As the admin, an import or a direct write would leave it.
    shop = ShopFactory()
    Shop.objects.filter(pk=shop.pk).update(description=SCRIPT)
    client.force_login(shop.owner)
    page = client.get(reverse("shops:seller_shop", args=[shop.slug])).content.decode()
    assert "<p>苹果园</p>" in page
    assert "<script>" not in page and "onerror" not in page and "javascript:" not in page


def test_shop_description_is_clean_on_the_public_page(client):
    shop = ShopFactory()
    Shop.objects.filter(pk=shop.pk).update(description=SCRIPT)
    page = client.get(shop.get_absolute_url()).content.decode()
    assert "<script>alert" not in page and "onerror" not in page


def test_description_over_the_limit_is_refused_by_the_api(api_client):
    shop = ShopFactory()
    api_client.force_authenticate(shop.owner)
    long = "好" * (DESCRIPTION_MAX_LENGTH + 1)
    assert "description" in api_client.patch(f"/api/v1/shops/{shop.slug}/", {"description": long}).json()
    product = ProductFactory(shop=shop)
    response = api_client.patch(f"/api/v1/products/{product.pk}/", {"description": long})
    assert response.status_code == 400 and "description" in response.json()
    ok = api_client.patch(f"/api/v1/products/{product.pk}/", {"description": "好" * DESCRIPTION_MAX_LENGTH})
    assert ok.status_code == 200


def test_lot_notes_over_the_limit_are_refused_by_the_api(api_client):
    product = ProductFactory()
    api_client.force_authenticate(product.shop.owner)
    response = api_client.post("/api/v1/lots/", {"product": product.pk, "harvested_on": "2024-09-01", "quantity": 5,
                                                 "notes": "x" * (NOTES_MAX_LENGTH + 1)})
    assert response.status_code == 400 and "notes" in response.json()


def test_description_over_the_limit_is_refused_by_the_forms():
    village, category = VillageFactory(), CategoryFactory()
    long = "x" * (DESCRIPTION_MAX_LENGTH + 1)
    shop_form = ShopForm({"name": "农场", "kind": "farm", "village": village.pk, "description": long}, creating=True)
    assert "description" in shop_form.errors
    assert shop_form.fields["description"].widget.attrs["maxlength"] == str(DESCRIPTION_MAX_LENGTH)
    product_form = ProductForm({"title": "苹果", "category": category.pk, "unit": "kg", "unit_weight_kg": "1",
                                "price": "5", "stock": "1", "min_order": "1", "description": long})
    assert "description" in product_form.errors
    lot_form = LotForm({"notes": "x" * (NOTES_MAX_LENGTH + 1)}, growers=FarmerFactory._meta.model.objects.none())
    assert "notes" in lot_form.errors


def test_description_over_the_limit_is_refused_by_the_services():
    farmer, village = FarmerFactory(), VillageFactory()
    with pytest.raises(ValidationError) as exc:
        services.create_shop(owner=farmer, name="农场", village=village, description="x" * (DESCRIPTION_MAX_LENGTH + 1))
    assert "description" in exc.value.message_dict
    product = ProductFactory()
    with pytest.raises(ValidationError):
        services.update_product(product=product, actor=product.shop.owner,
                                description="x" * (DESCRIPTION_MAX_LENGTH + 1))


def test_shop_schema_matches_what_a_non_manager_gets(api_client, client):
    shop = ShopFactory()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    component = schema["components"]["schemas"]["Shop"]
    public = api_client.get(f"/api/v1/shops/{shop.slug}/").json()
    # Every property the schema calls required is present, for the public too; verification is null there.
    assert set(component["required"]) <= set(public)
    assert public["verification"] is None and component["properties"]["verification"]["nullable"] is True
    api_client.force_authenticate(shop.owner)
    assert api_client.get(f"/api/v1/shops/{shop.slug}/").json()["verification"] == "unverified"
