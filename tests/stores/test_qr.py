import base64
import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.models import Store
from backend.stores import qr
from backend.stores import service as store_service
from backend.stores.exceptions import InvalidQr
from tests.factories.stores import Stores
from tests.factories.world import World


def _token(store: dict[str, object]) -> str:
    return str(store["qr_url"]).rsplit("/q/", 1)[1]


def _raw(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "="))


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _verify(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    org_id: uuid.UUID,
    text: str,
) -> Store:
    async with session_scope(sessionmaker) as session:
        return await store_service.verify_qr(session, settings, org_id, text)


async def _refuses(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    org_id: uuid.UUID,
    text: str,
) -> None:
    with pytest.raises(InvalidQr) as caught:
        await _verify(sessionmaker, settings, org_id, text)
    assert caught.value.code == "invalid_qr"
    assert caught.value.status == 422


def test_token_shape() -> None:
    org_id, store_id = uuid.uuid4(), uuid.uuid4()
    token = qr.make_token(b"s" * 32, org_id, b"o" * 32, 1, store_id, 7)
    assert len(token) == 43
    parsed = qr.parse_token(token)
    assert parsed is not None
    assert (parsed.store_id, parsed.qr_version, parsed.key_version) == (store_id, 7, 1)
    assert qr.mac_is_valid(b"s" * 32, org_id, b"o" * 32, parsed)
    assert not qr.mac_is_valid(b"s" * 32, uuid.uuid4(), b"o" * 32, parsed)
    assert not qr.mac_is_valid(b"t" * 32, org_id, b"o" * 32, parsed)
    assert qr.extract_token(f"https://elsewhere.example/app/q/{token}?utm=1#x") == token
    assert qr.extract_token(f"/q/{token}/") == token
    assert qr.extract_token(f"  {token}\n") == token
    for junk in ("", "\x00", "/q/", "q/" + token, token[:-1], token + "A", "x" * 5000):
        assert qr.extract_token(junk) is None, junk


async def test_verify_cases(
    client: httpx.AsyncClient,
    world: World,
    stores: Stores,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    org_a, org_b = await world.org(), await world.org()
    store = await stores.create(org_a)
    neighbour = await stores.create(org_a)
    foreign = await stores.create(org_b)
    token = _token(store)

    found = await _verify(sessionmaker, settings, org_a.id, token)
    assert str(found.id) == store["id"]
    whole_url = await _verify(sessionmaker, settings, org_a.id, store["qr_url"])
    assert str(whole_url.id) == store["id"]
    other_host = await _verify(sessionmaker, settings, org_a.id, f"http://10.0.0.5:8000/q/{token}")
    assert str(other_host.id) == store["id"]

    raw = _raw(token)
    for index in (0, 15, 16, 18, 20, 31):  # store id, qr version, key version, mac
        forged = bytearray(raw)
        forged[index] ^= 0x01
        await _refuses(sessionmaker, settings, org_a.id, _encode(bytes(forged)))
    # Move the code to another store: swap in the neighbour's id, keep the MAC.
    moved = uuid.UUID(neighbour["id"]).bytes + bytes(raw[16:])
    await _refuses(sessionmaker, settings, org_a.id, _encode(moved))
    # A valid code of org B, scanned by someone of org A, and vice versa.
    await _refuses(sessionmaker, settings, org_a.id, _token(foreign))
    await _refuses(sessionmaker, settings, org_b.id, token)
    for garbage in (
        "",
        "\x00",
        "\x00" * 43,
        token[:20],
        token[:-2],
        token + "AA",
        "not a token at all",
        "https://doorstep.test/q/",
        "https://doorstep.test/q/" + token[:-1] + "\x00",
        "💥" * 43,
        "A" * 43,
        "/" * 3000,
        token.replace(token[5], "=" if token[5] != "=" else "-", 1),
    ):
        await _refuses(sessionmaker, settings, org_a.id, garbage)


async def test_rotate_invalidates_old_code(
    client: httpx.AsyncClient,
    world: World,
    stores: Stores,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    org = await world.org()
    store = await stores.create(org)
    old = store["qr_url"]
    rotated = await client.post(
        f"/api/v1/stores/{store['id']}/qr/rotate", headers=org.admin.headers
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["qr_url"]
    assert new != old
    await _refuses(sessionmaker, settings, org.id, old)
    assert str((await _verify(sessionmaker, settings, org.id, new)).id) == store["id"]
    got = await client.get(f"/api/v1/stores/{store['id']}", headers=org.admin.headers)
    assert got.json()["qr_url"] == new
    as_rep = await client.post(f"/api/v1/stores/{store['id']}/qr/rotate", headers=org.rep.headers)
    assert as_rep.status_code == 403


async def test_org_key_rotation_retires_codes(
    world: World,
    stores: Stores,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    org = await world.org()
    store = await stores.create(org)
    async with session_scope(sessionmaker) as session:
        from backend.orgs import service as org_service

        organization = await org_service.get_org(session, org.id)
        organization.signing_secret = b"n" * 32
        organization.signing_key_version += 1
    await _refuses(sessionmaker, settings, org.id, store["qr_url"])
