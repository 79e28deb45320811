"""Media on an S3-compatible store (MEDIA_STORAGE=s3), against a real S3 API: moto_server, started by the tests.

Public photos and their thumbnails in one bucket at unsigned URLs; licence and ID photos in a private bucket,
readable only through a short-lived signed URL or the staff's admin view; deletes remove the objects.
"""
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.tests.factories import UserFactory
from ops.views import readyz
from shops import images
from shops import services as shop_services
from shops.models import ProductImage, private_storage

from .factories import ProductFactory, ShopFactory
from .test_images import jpeg_upload, photo_upload, wait_while_processing, worker_media  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.services]


def bucket_keys(s3, bucket: str) -> set[str]:
    listing = s3.client().list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


def add_photo(product, django_capture_on_commit_callbacks, upload=None):
    with django_capture_on_commit_callbacks(execute=True):  # commit: the thumbnail task runs in-process
        photo = images.add_product_image(product=product, actor=product.shop.owner,
                                         upload=upload or photo_upload(size=(1600, 1200)))
    photo.refresh_from_db()
    return photo


def test_a_photo_and_its_thumbnails_are_written_to_the_public_bucket(s3_storage, django_capture_on_commit_callbacks):
    photo = add_photo(ProductFactory(), django_capture_on_commit_callbacks)
    assert photo.status == ProductImage.Status.READY
    names = {photo.image.name, *photo.thumbnails.values(), *photo.avif.values()}
    # 160, 320, 640, 960 and 1280 px, as WebP and (where Pillow writes it) AVIF
    assert len(names) == 1 + 5 * (2 if images.AVIF_ENABLED else 1)
    assert names <= bucket_keys(s3_storage, s3_storage.public_bucket)
    assert not bucket_keys(s3_storage, s3_storage.private_bucket)


def test_public_photos_are_read_at_unsigned_urls(s3_storage, django_capture_on_commit_callbacks):
    photo = add_photo(ProductFactory(), django_capture_on_commit_callbacks)
    for name in (photo.image.name, photo.thumbnails["320"]):
        url = default_storage.url(name)
        assert url.startswith(f"{s3_storage.url}/{s3_storage.public_bucket}/") and "Signature" not in url
        response = requests.get(url, timeout=10)
        assert response.status_code == 200
        assert response.content == default_storage.open(name).read()
    thumbnail = requests.get(default_storage.url(photo.thumbnails["320"]), timeout=10)
    assert thumbnail.headers["Content-Type"] == "image/webp"


def test_a_licence_photo_is_private_and_read_only_through_a_signed_short_lived_url(s3_storage, client):
    shop = ShopFactory()
    shop_services.submit_verification(shop=shop, actor=shop.owner, licence_photo=jpeg_upload())
    name = shop.licence_photo.name
    assert name in bucket_keys(s3_storage, s3_storage.private_bucket)
    assert name not in bucket_keys(s3_storage, s3_storage.public_bucket)
    plain = f"{s3_storage.url}/{s3_storage.private_bucket}/{name}"
    assert requests.get(plain, timeout=10).status_code == 403  # no signature: refused by the store
    signed = private_storage().url(name)
    query = parse_qs(urlparse(signed).query)
    assert "X-Amz-Signature" in query and int(query["X-Amz-Expires"][0]) <= 300
    response = requests.get(signed, timeout=10)
    assert response.status_code == 200 and response.content == shop.licence_photo.open("rb").read()
    # Nor is it anywhere under the site's /media/.
    assert client.get(f"/media/{name}").status_code == 404


def test_staff_read_the_private_photo_through_the_admin(s3_storage, client):
    shop = ShopFactory()
    shop_services.submit_verification(shop=shop, actor=shop.owner, licence_photo=jpeg_upload())
    url = reverse("admin:shops_shop_licence", args=[shop.pk])
    client.force_login(UserFactory())
    assert client.get(url).status_code == 302  # not staff: the admin's sign-in page
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == shop.licence_photo.open("rb").read()


def test_deleting_a_photo_removes_it_and_its_thumbnails_from_the_bucket(s3_storage,
                                                                        django_capture_on_commit_callbacks):
    product = ProductFactory()
    photo = add_photo(product, django_capture_on_commit_callbacks)
    names = {photo.image.name, *photo.thumbnails.values()}
    with django_capture_on_commit_callbacks(execute=True):
        images.delete_image(image=photo, actor=product.shop.owner)
    assert not names & bucket_keys(s3_storage, s3_storage.public_bucket)


def test_a_new_licence_photo_replaces_the_old_object(s3_storage, django_capture_on_commit_callbacks):
    shop = ShopFactory()
    with django_capture_on_commit_callbacks(execute=True):
        shop_services.submit_verification(shop=shop, actor=shop.owner, licence_photo=jpeg_upload())
    first = shop.licence_photo.name
    with django_capture_on_commit_callbacks(execute=True):
        shop_services.submit_verification(shop=shop, actor=shop.owner, licence_photo=jpeg_upload(colour=(1, 2, 3)))
    assert bucket_keys(s3_storage, s3_storage.private_bucket) == {shop.licence_photo.name} != {first}


def test_readiness_checks_the_buckets(s3_storage, rf, settings):
    assert readyz(rf.get("/readyz")).status_code == 200
    settings.STORAGES = {**settings.STORAGES, "private": {**settings.STORAGES["private"], "OPTIONS": {
        **settings.STORAGES["private"]["OPTIONS"], "bucket_name": "no-such-bucket"}}}
    response = readyz(rf.get("/readyz"))
    assert response.status_code == 503 and b'"private_media": "failed"' in response.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker_media")  # PostgreSQL, so the worker sees the committed rows
def test_a_real_worker_writes_the_thumbnails_to_the_bucket(s3_storage, celery_worker_process):
    """The worker process reads the original from the bucket and writes the thumbnails there: nothing on a disk
    that another machine could not see."""
    product = ProductFactory()
    photo = images.add_product_image(product=product, actor=product.shop.owner, upload=photo_upload())
    assert wait_while_processing(photo) == ProductImage.Status.READY
    photo.refresh_from_db()
    assert {photo.image.name, *photo.thumbnails.values()} <= bucket_keys(s3_storage, s3_storage.public_bucket)
