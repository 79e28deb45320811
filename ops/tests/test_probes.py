"""/healthz says the process is up; /readyz says it can serve: database, Redis, media storages."""
import json

import pytest

from ops import views


def test_healthz_answers_without_touching_the_database(client):
    # No database access is allowed in this test: any query would raise.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_database_redis_and_storages(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "media": "ok",
                                                          "private_media": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_check_that_failed(client, monkeypatch):
    def broken():
        raise ConnectionError("refused")

    monkeypatch.setitem(views.CHECKS, "redis", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "unavailable" and body["checks"]["redis"] == "failed"
    assert body["checks"]["database"] == "ok"
    assert "refused" not in response.content.decode()  # no error details for the public


@pytest.mark.django_db
@pytest.mark.services
def test_readyz_fails_when_redis_does_not_answer(client, settings, redis_url):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # a closed port
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["redis"] == "failed"


@pytest.mark.django_db
def test_readyz_fails_when_the_media_folder_cannot_be_written(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "file"
    (tmp_path / "file").write_text("not a folder")
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["media"] == "failed"
