"""Never a 500 for bad input, and JSON errors for every /api/ path (findings 3, 6, 7 and 8)."""
import io

import pytest
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler

from accounts.tests.factories import BuyerFactory
from core.parsers import JSONParser
from shops.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
DEEP = "[" * 1000 + "]" * 1000


def deep_object(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


# --- Finding 3: JSON nested 1,000 levels deep --------------------------------------------------------------------

@pytest.mark.parametrize("body", [DEEP, deep_object(1000), deep_object(50_000)])
def test_deeply_nested_json_is_400_on_the_anonymous_token_endpoint(client, body):
    response = client.post("/api/v1/auth/token/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_deeply_nested_json_is_400_for_a_signed_in_user(api_client):
    api_client.force_authenticate(BuyerFactory())
    response = api_client.post("/api/v1/addresses/", data=DEEP, content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()


def test_deeply_nested_json_is_400_on_views_with_their_own_parsers(api_client):
    api_client.force_authenticate(BuyerFactory())
    assert api_client.post("/api/v1/reviews/", data=DEEP, content_type="application/json").status_code == 400


def test_the_json_parser_is_the_default_and_still_reads_ordinary_json():
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_PARSER_CLASSES[0] is JSONParser
    assert JSONParser().parse(io.BytesIO(b'{"a": [1, {"b": 2}]}')) == {"a": [1, {"b": 2}]}


# --- Finding 6: a non-integer id -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/reviews/abc/reply/", "/api/v1/reviews/1e3/", "/api/v1/stations/x/",
                                  "/api/v1/shipments/%20/"])
def test_a_malformed_id_is_a_json_404(api_client, path):
    api_client.force_authenticate(BuyerFactory())
    response = api_client.post(path, {"reply": "谢谢"}) if path.endswith("reply/") else api_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and "detail" in response.json()


# --- Finding 8: JSON errors for every /api/ path -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/products/1/no-such-action/", "/api/v2/",
                                  "/api/"])
def test_unknown_api_paths_answer_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and response.json() == {"detail": "Not found."}


def test_unknown_site_pages_stay_html(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and "text/html" in response["Content-Type"]
    assert "Page not found" in response.content.decode()


@pytest.mark.parametrize("query, ok", [("page_size=100", True), ("page_size=1", True), ("page_size=101", False),
                                       ("page_size=1000", False), ("page_size=0", False), ("page_size=-5", False),
                                       ("page_size=abc", False), ("page_size=1.5", False), ("page_size=", True)])
def test_page_size_out_of_range_or_not_a_number_is_400(client, query, ok):
    response = client.get(f"/api/v1/categories/?{query}")
    if ok:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert "from 1 to 100" in response.json()["page_size"][0]


# --- Findings 7 and 8: body size ------------------------------------------------------------------------------------

def test_an_oversized_json_body_is_413_json_before_it_is_read(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post("/api/v1/auth/token/", data='{"username": "' + "x" * 2000 + '"}',
                           content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json" and "too large" in response.json()["detail"]


def test_a_lying_content_length_is_refused_without_reading(client):
    response = client.post("/api/v1/auth/token/", data="{}", content_type="application/json",
                           CONTENT_LENGTH=str(100 * 2**20))
    assert response.status_code == 413 and "detail" in response.json()


def test_an_oversized_form_on_a_page_is_413_html(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post("/accounts/login/", {"username": "x" * 2000, "password": "y"})
    assert response.status_code == 413 and "text/html" in response["Content-Type"]


@pytest.fixture
def written(monkeypatch):
    """Bytes the real upload handlers (memory or temporary file) received: what would be written."""
    seen = {"bytes": 0}
    for handler in (MemoryFileUploadHandler, TemporaryFileUploadHandler):
        original = handler.receive_data_chunk

        def spy(self, raw_data, start, _original=original):
            seen["bytes"] += len(raw_data)
            return _original(self, raw_data, start)

        monkeypatch.setattr(handler, "receive_data_chunk", spy)
    return seen


def test_an_upload_over_the_cap_is_413_before_the_file_is_written(api_client, settings, written):
    settings.UPLOAD_MAX_SIZE = 256 * 1024
    product = ProductFactory()
    api_client.force_authenticate(product.shop.owner)
    photo = io.BytesIO(b"\xff\xd8" + b"0" * (3 * 2**20))  # 3 MB, past the 256 KB cap
    photo.name = "big.jpg"
    response = api_client.post(f"/api/v1/products/{product.pk}/images/", {"image": photo}, format="multipart")
    assert response.status_code == 413 and "detail" in response.json()
    assert written["bytes"] <= settings.UPLOAD_MAX_SIZE
    assert not product.images.exists()


def test_a_multipart_body_over_the_request_cap_is_refused_from_its_length(api_client, settings, written):
    settings.UPLOAD_MAX_REQUEST_SIZE = 512 * 1024
    product = ProductFactory()
    api_client.force_authenticate(product.shop.owner)
    photo = io.BytesIO(b"0" * 2**20)
    photo.name = "big.jpg"
    response = api_client.post(f"/api/v1/products/{product.pk}/images/", {"image": photo}, format="multipart")
    assert response.status_code == 413 and written["bytes"] == 0


def test_the_default_caps(settings):
    assert settings.UPLOAD_MAX_SIZE == 15 * 2**20
    assert settings.FILE_UPLOAD_HANDLERS[0] == "core.uploads.CappedUploadHandler"
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 5 * 2**20
