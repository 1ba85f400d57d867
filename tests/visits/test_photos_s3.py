"""The photo flow end to end with S3-compatible storage (a real moto server)."""

import io
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from PIL import Image
from pydantic import SecretStr

from backend.config import Settings, StorageBackend
from backend.main import create_app
from tests.factories.images import encode, synthetic_photo
from tests.factories.visits import Field
from tests.factories.world import World
from tests.s3 import ACCESS_KEY, SECRET_KEY


@pytest.fixture
async def s3_client(settings: Settings, s3_endpoint: str) -> AsyncIterator[httpx.AsyncClient]:
    s3_settings = settings.model_copy(
        update={
            "storage": StorageBackend.s3,
            "s3_endpoint_url": s3_endpoint,
            "s3_bucket": f"photos-{uuid.uuid4().hex[:8]}",
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SecretStr(SECRET_KEY),
        }
    )
    app = create_app(s3_settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_upload_and_serve_through_s3(s3_client: httpx.AsyncClient) -> None:
    app_state = s3_client._transport.app.state  # type: ignore[attr-defined]
    field = Field(s3_client, await World(s3_client, app_state.sessionmaker).org())
    store = await field.store()
    visit_id = (await field.check_in(field.check_in_body(store))).json()["id"]
    photo = encode(synthetic_photo(11, (1200, 900)), "JPEG", quality=85)
    response = await s3_client.put(
        f"/api/v1/visits/{visit_id}/photos/storefront",
        files={"file": ("p.jpg", photo, "image/jpeg")},
        headers=field.org.rep.headers,
    )
    assert response.status_code == 201, response.text
    served = await s3_client.get(response.json()["url"], headers=field.org.rep.headers)
    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.content)).size == (1200, 900)
    assert type(app_state.storage).__name__ == "S3Storage"
