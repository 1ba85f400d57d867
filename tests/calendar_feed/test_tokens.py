"""Feed tokens: a MAC over (org, feed, user, version); anything else is not genuine."""

import uuid

from backend.calendar_feed import tokens

SECRET = b"server-secret-of-enough-length-0123456789"
ORG_SECRET = b"o" * 32


def _owner() -> tokens.FeedOwner:
    return tokens.FeedOwner(org_id=uuid.uuid4(), feed_id=uuid.uuid4(), user_id=uuid.uuid4())


def _stored(owner: tokens.FeedOwner, version: int = 1) -> tokens.StoredFeed:
    return tokens.StoredFeed(owner, version, ORG_SECRET, key_version=1)


def _check(token: str, stored: tokens.StoredFeed | None) -> bool:
    parsed = tokens.parse_token(token)
    return parsed is not None and tokens.is_genuine(SECRET, parsed, stored)


def test_a_token_round_trips_and_names_its_feed() -> None:
    owner = _owner()
    token = tokens.make_token(SECRET, ORG_SECRET, 1, owner, 3)
    assert len(token) == tokens.TOKEN_LENGTH
    parsed = tokens.parse_token(token)
    assert parsed is not None and parsed.feed_id == owner.feed_id and parsed.version == 3
    assert _check(token, _stored(owner, 3))


def test_another_version_user_org_or_key_is_not_genuine() -> None:
    owner = _owner()
    token = tokens.make_token(SECRET, ORG_SECRET, 1, owner, 1)
    assert not _check(token, _stored(owner, 2))  # rotated
    other_user = tokens.FeedOwner(owner.org_id, owner.feed_id, uuid.uuid4())
    assert not _check(token, _stored(other_user))
    other_org = tokens.FeedOwner(uuid.uuid4(), owner.feed_id, owner.user_id)
    assert not _check(token, _stored(other_org))
    assert not _check(token, tokens.StoredFeed(owner, 1, b"x" * 32, 1))
    assert not _check(token, tokens.StoredFeed(owner, 1, ORG_SECRET, 2))
    assert not _check(token, None)


def test_a_tampered_or_malformed_token_is_refused() -> None:
    owner = _owner()
    token = tokens.make_token(SECRET, ORG_SECRET, 1, owner, 1)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert not _check(flipped, _stored(owner))
    for bad in ["", token[:-1], token + "A", token.replace(token[5], "."), "é" * 48]:
        assert tokens.parse_token(bad) is None


def test_the_url_is_under_cal() -> None:
    assert tokens.feed_url("https://d.example/", "abc") == "https://d.example/cal/abc.ics"
