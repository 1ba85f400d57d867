"""Each key's rate limit: the IETF RateLimit headers on every answer to a key, 429 with
Retry-After past the burst; and the GCRA itself, on a clock the test holds."""

import re
import uuid

import httpx

from backend.api_keys.rate_limit import Limiter, Policy
from tests.factories.api_keys import create_api_key, key_headers
from tests.factories.world import World

_RATELIMIT = re.compile(r'^"default";r=(\d+);t=(\d+)$')


def remaining_and_reset(response: httpx.Response) -> tuple[int, int]:
    match = _RATELIMIT.match(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return int(match.group(1)), int(match.group(2))


async def test_headers_count_down_the_burst_then_429_with_retry_after(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    # One request every 10 s, 5 at once: slow enough that no token comes back during the test.
    created = await create_api_key(client, org, ["stores:read"], rate_per_minute=6, burst=5)
    seen = []
    for _ in range(5):
        response = await client.get("/api/v1/stores", headers=key_headers(created))
        assert response.status_code == 200, response.text
        assert response.headers["ratelimit-policy"] == '"default";q=6;w=60;doorstep-burst=5'
        seen.append(remaining_and_reset(response))
    assert [r for r, _ in seen] == [4, 3, 2, 1, 0]
    # t: seconds until the whole burst is back (10 s per request spent).
    assert [t for _, t in seen] == [10, 20, 30, 40, 50]

    refused = await client.get("/api/v1/stores", headers=key_headers(created))
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    retry_after = int(refused.headers["retry-after"])
    assert 9 <= retry_after <= 10
    assert refused.json()["retry_after_s"] == retry_after
    remaining, reset = remaining_and_reset(refused)
    assert remaining == 0 and 49 <= reset <= 50
    assert refused.headers["ratelimit-policy"] == '"default";q=6;w=60;doorstep-burst=5'

    # Another key of the same org has a bucket of its own.
    fresh = await create_api_key(client, org, ["stores:read"])
    ok = await client.get("/api/v1/stores", headers=key_headers(fresh))
    assert ok.status_code == 200
    assert ok.headers["ratelimit-policy"] == '"default";q=600;w=60;doorstep-burst=60'
    assert remaining_and_reset(ok) == (59, 1)


async def test_every_answer_to_a_key_carries_the_headers_and_none_to_a_user(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    created = await create_api_key(client, org, ["stores:read", "visits:read"])
    answers = [
        await client.get(f"/api/v1/stores/{uuid.uuid4()}", headers=key_headers(created)),  # 404
        await client.get(  # a route that answers with its own Response, here a 404
            f"/api/v1/visits/{uuid.uuid4()}/photos/storefront", headers=key_headers(created)
        ),
        await client.get("/api/v1/users", headers=key_headers(created)),  # 403
        await client.get("/api/v1/stores?limit=0", headers=key_headers(created)),  # 422
    ]
    assert [a.status_code for a in answers] == [404, 404, 403, 422]
    for answer in answers:
        assert answer.headers["ratelimit"].startswith('"default";r=')
        assert answer.headers["ratelimit-policy"].startswith('"default";q=600;w=60')
    as_user = await client.get("/api/v1/stores", headers=org.admin.headers)
    assert "ratelimit" not in as_user.headers and "ratelimit-policy" not in as_user.headers
    refused = await client.get("/api/v1/stores", headers=key_headers("dsk_" + "0" * 75))
    assert refused.status_code == 401 and "ratelimit" not in refused.headers


def test_gcra_allows_the_burst_then_one_per_interval() -> None:
    limiter, key, policy = Limiter(), uuid.uuid4(), Policy(per_minute=60, burst=3)
    assert [limiter.admit(key, policy, 100.0).allowed for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    refused = limiter.admit(key, policy, 100.0)
    assert refused.retry_after_s == 1.0 and refused.remaining == 0
    assert not limiter.admit(key, policy, 100.9).allowed
    again = limiter.admit(key, policy, 101.0)
    assert again.allowed and again.remaining == 0
    # Quiet for the whole burst's time: the full burst is back, and no more than that.
    rested = limiter.admit(key, policy, 110.0)
    assert rested.allowed and rested.remaining == 2 and rested.reset_after_s == 1.0


def test_the_default_policy_fits_60_at_once_without_float_slack() -> None:
    limiter, key, policy = Limiter(), uuid.uuid4(), Policy(per_minute=600, burst=60)
    decisions = [limiter.admit(key, policy, 5.0) for _ in range(61)]
    assert [d.allowed for d in decisions] == [True] * 60 + [False]
    assert decisions[59].remaining == 0
    assert decisions[60].headers(policy)["Retry-After"] == "1"
    assert decisions[0].headers(policy) == {
        "RateLimit-Policy": '"default";q=600;w=60;doorstep-burst=60',
        "RateLimit": '"default";r=59;t=1',
    }


def test_replicas_share_a_keys_limit() -> None:
    assert Policy.share(600, 60, 1) == Policy(600, 60)
    assert Policy.share(600, 60, 4) == Policy(150, 15)
    assert Policy.share(5, 1, 3) == Policy(2, 1)


def test_forgotten_keys_are_those_whose_bucket_is_full_again() -> None:
    limiter, policy = Limiter(max_entries=2), Policy(per_minute=60, burst=2)
    old, busy, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    limiter.admit(old, policy, 0.0)
    limiter.admit(busy, policy, 9.5)
    limiter.admit(busy, policy, 9.5)
    assert len(limiter) == 2
    limiter.admit(new, policy, 10.0)  # over 2 entries: ``old`` (full since t=1) is dropped
    assert len(limiter) == 2
    assert not limiter.admit(busy, policy, 10.0).allowed  # ``busy`` kept its state
