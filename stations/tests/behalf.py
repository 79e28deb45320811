"""Helpers of the acting-on-behalf tests: a station with its agent, farmers registered through the real service,
and the SMS a phone would receive (the file SMS backend)."""
import io
import json
import re
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.services import issue_token
from logistics.tests.factories import StationFactory, agent_at
from shops.tests.factories import VillageFactory
from stations import services
from stations.models import AssistedFarmer

PASSWORD_FREE_PHONES = iter(f"1390000{n:04d}" for n in range(10000))


def jpeg(name: str = "photo.jpg", colour=(200, 40, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 220), colour).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def station_with_agent():
    station = StationFactory(villages=[VillageFactory()])
    return station, agent_at(station)


def registered(agent, station, *, consent: bool = True, name: str = "王德福", phone: str | None = None
               ) -> AssistedFarmer:
    """A farmer of the station's village registered by `agent`; consent given on paper unless `consent` is False."""
    return services.register_farmer(agent=agent, name=name, phone=phone or next(PASSWORD_FREE_PHONES),
                                    village=station.villages.first(), id_photo=jpeg("id.jpg"),
                                    consent_paper=jpeg("form.jpg") if consent else None)


def sent_sms(settings) -> list[dict]:
    path = Path(settings.SMS_FILE_PATH) / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def signed_in(client, user):
    """An API client carrying a real token of `user` (force_authenticate would skip the authentication classes
    that on_behalf_of goes through)."""
    token, _expiry = issue_token(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client
