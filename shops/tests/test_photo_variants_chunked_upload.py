"""Photos sent in resumable chunks (shops/uploads.py): the protocol, its guards, and the forms that attach them."""
import datetime
import json

import pytest
from django.utils import timezone

from accounts.tests.factories import FarmerFactory
from shops import uploads
from shops.demo_photos import demo_photo
from shops.models import PhotoUpload, PhotoUploadChunk, ProductImage
from shops.tasks import purge_expired_uploads

from .factories import ProductFactory

pytestmark = pytest.mark.django_db

CHUNK = uploads.CHUNK_SIZE


def photo_bytes(size=(1600, 1200)) -> bytes:
    return demo_photo("Fuji apples", 5, size=size).read()


def start(client, size: int, **extra):
    return client.post("/uploads/", json.dumps({"size": size, "type": "image/jpeg", "name": "IMG_0001.jpg", **extra}),
                       content_type="application/json")


def put(client, token: str, data: bytes, offset: int, total: int):
    return client.put(f"/uploads/{token}/", data, content_type="application/octet-stream",
                      headers={"Content-Range": f"bytes {offset}-{offset + len(data) - 1}/{total}"})


def send_all(client, data: bytes) -> str:
    token = start(client, len(data)).json()["id"]
    for offset in range(0, len(data), CHUNK):
        assert put(client, token, data[offset:offset + CHUNK], offset, len(data)).status_code == 200
    return token


def test_a_photo_sent_in_chunks_resumes_where_the_server_stopped_and_is_attached_by_its_id(client):
    product = ProductFactory()
    client.force_login(product.shop.owner)
    data = photo_bytes((2000, 1500))
    assert len(data) > 2 * CHUNK

    answer = start(client, len(data))
    assert answer.status_code == 201
    token = answer.json()["id"]
    assert answer.json() == {"id": token, "offset": 0, "size": len(data), "complete": False, "chunk_size": CHUNK}
    assert put(client, token, data[:CHUNK], 0, len(data)).json()["offset"] == CHUNK
    # The answer to the second part was lost: the client sends it again, and learns where to go on.
    assert put(client, token, data[CHUNK:2 * CHUNK], CHUNK, len(data)).status_code == 200
    again = put(client, token, data[CHUNK:2 * CHUNK], CHUNK, len(data))
    assert again.status_code == 409 and again.json()["offset"] == 2 * CHUNK
    assert client.get(f"/uploads/{token}/").json() == {"id": token, "offset": 2 * CHUNK, "size": len(data),
                                                       "complete": False}
    for offset in range(2 * CHUNK, len(data), CHUNK):
        last = put(client, token, data[offset:offset + CHUNK], offset, len(data))
    assert last.json()["complete"] is True

    response = client.post(f"/seller/products/{product.pk}/photos/", {"photo_uploads": [token], "photo_alt": "Apples"})
    assert response.status_code == 302
    photo = ProductImage.objects.get(product=product)
    assert photo.alt_text == "Apples" and (photo.width, photo.height) == (2000, 1500)
    # Attached once: the chunks are gone, and the same id a second time adds nothing.
    assert not PhotoUpload.objects.exists() and not PhotoUploadChunk.objects.exists()
    client.post(f"/seller/products/{product.pk}/photos/", {"photo_uploads": [token]})
    assert ProductImage.objects.filter(product=product).count() == 1


def test_the_first_part_may_open_the_upload_in_the_same_request(client):
    client.force_login(FarmerFactory())
    data = b"0123456789" * 40
    answer = client.post("/uploads/", data[:100], content_type="application/octet-stream",
                         headers={"Content-Range": f"bytes 0-99/{len(data)}", "X-Upload-Type": "image/jpeg",
                                  "X-Upload-Name": "%E8%8B%B9%E6%9E%9C.jpg"})
    assert answer.status_code == 201
    body = answer.json()
    assert (body["offset"], body["size"], body["complete"]) == (100, len(data), False)
    upload = PhotoUpload.objects.get(token=body["id"])
    assert upload.name == "苹果.jpg" and upload.received == 100
    # A first part that does not start at byte 0 opens nothing.
    late = client.post("/uploads/", data[:100], content_type="application/octet-stream",
                       headers={"Content-Range": f"bytes 100-199/{len(data)}"})
    assert late.status_code == 400 and "content_range" in late.json()
    assert PhotoUpload.objects.count() == 1


def test_the_server_checks_an_assembled_photo_like_any_upload(client):
    product = ProductFactory()
    client.force_login(product.shop.owner)
    token = send_all(client, b"not a photo at all" * 100)
    response = client.post(f"/seller/products/{product.pk}/photos/", {"photo_uploads": [token]}, follow=True)
    assert "IMG_0001.jpg was not added" in response.content.decode()
    assert not ProductImage.objects.exists()


def test_an_upload_is_its_owners_only(client):
    owner, other = FarmerFactory(), FarmerFactory()
    product = ProductFactory(shop__owner=other)
    client.force_login(owner)
    token = send_all(client, photo_bytes((640, 480)))
    client.force_login(other)
    assert client.get(f"/uploads/{token}/").status_code == 404
    assert put(client, token, b"x", 0, 1).status_code == 404
    response = client.post(f"/seller/products/{product.pk}/photos/", {"photo_uploads": [token]}, follow=True)
    assert "was not found or has expired" in response.content.decode()
    assert not ProductImage.objects.exists() and PhotoUpload.objects.filter(token=token).exists()
    client.logout()
    assert start(client, 10).status_code == 403
    assert client.get(f"/uploads/{token}/").status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"size": 0}, "size"), ({"size": "12"}, "size"), ({"size": 16 * 1024 * 1024}, "size"),
    ({"size": 1000, "type": "text/html"}, "type"),
])
def test_a_bad_start_is_a_400_with_field_errors(client, body, field):
    client.force_login(FarmerFactory())
    response = client.post("/uploads/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and field in response.json()
    assert client.post("/uploads/", "[1, 2", content_type="application/json").status_code == 400


@pytest.mark.parametrize("content_range", [None, "bytes 0-9/11", "bytes 0-4/10", "bytes 5-2/10", "bytes 0-9/99",
                                           "items 0-9/10"])
def test_a_part_whose_content_range_does_not_fit_is_a_400(client, content_range):
    client.force_login(FarmerFactory())
    token = start(client, 10).json()["id"]
    headers = {"Content-Range": content_range} if content_range else {}
    response = client.put(f"/uploads/{token}/", b"0123456789", content_type="application/octet-stream",
                          headers=headers)
    assert response.status_code == 400 and "content_range" in response.json()
    assert client.get(f"/uploads/{token}/").json()["offset"] == 0


def test_a_user_has_a_limited_number_of_uploads_under_way(client):
    client.force_login(FarmerFactory())
    for _ in range(uploads.MAX_OPEN_UPLOADS):
        assert start(client, 10).status_code == 201
    assert start(client, 10).status_code == 429


def test_expired_uploads_are_gone_and_purged_by_the_task(client):
    client.force_login(FarmerFactory())
    token = send_all(client, b"0123456789")
    fresh = start(client, 10).json()["id"]
    PhotoUpload.objects.filter(token=token).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get(f"/uploads/{token}/").status_code == 404
    assert purge_expired_uploads.delay().get() == 1
    assert list(PhotoUpload.objects.values_list("token", flat=True)) == [fresh]
    assert not PhotoUploadChunk.objects.exists()


def test_a_new_product_form_with_an_error_keeps_the_photos_already_sent(client):
    product = ProductFactory()
    client.force_login(product.shop.owner)
    token = send_all(client, photo_bytes((640, 480)))
    response = client.post(f"/seller/shops/{product.shop.slug}/products/new/", {"title": "", "photo_uploads": [token]})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'name="photo_uploads" value="{token}"' in html
    assert "The photos you sent are kept" in html
    assert PhotoUpload.objects.filter(token=token).exists()
