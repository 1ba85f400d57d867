"""The pure rules: the retry schedule, Retry-After, the SSRF address rule, signatures."""

import base64
import ipaddress
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks import Webhook

from backend.webhooks import schedule, signing, ssrf
from backend.webhooks.schedule import Outcome

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def test_the_schedule_is_the_designs_then_failed() -> None:
    expected = [
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=10),
    ]
    for attempt, delay in enumerate(expected, start=1):
        verdict = schedule.judge(status=500, retry_after=None, attempt=attempt, now=NOW)
        assert verdict == schedule.Verdict(Outcome.retry, NOW + delay)
    last = schedule.judge(status=None, retry_after=None, attempt=8, now=NOW)
    assert last.outcome is Outcome.failed and last.next_attempt_at is None


def test_answers() -> None:
    assert schedule.judge(status=204, retry_after=None, attempt=1, now=NOW).outcome is (
        Outcome.succeeded
    )
    # A redirect is a failure: it is not followed.
    assert schedule.judge(status=302, retry_after=None, attempt=1, now=NOW).outcome is (
        Outcome.retry
    )
    gone = schedule.judge(status=410, retry_after=None, attempt=1, now=NOW)
    assert gone.outcome is Outcome.gone and gone.disable_endpoint


def test_retry_after_in_seconds_or_as_a_date_and_bounded() -> None:
    def after(value: str | None, status: int = 429) -> timedelta | None:
        at = schedule.judge(status=status, retry_after=value, attempt=1, now=NOW).next_attempt_at
        return at - NOW if at else None

    assert after("120") == timedelta(seconds=120)
    assert after(format_datetime(NOW + timedelta(minutes=7), usegmt=True)) == timedelta(minutes=7)
    assert after("0") == schedule.RETRY_AFTER_MIN
    assert after("99999999999") == schedule.RETRY_AFTER_MAX
    assert after("soon") == timedelta(seconds=5)  # unreadable: the schedule's step
    assert after("30", status=503) == timedelta(seconds=30)
    assert after("30", status=500) == timedelta(seconds=5)  # only 429 and 503 ask to wait


def test_five_days_of_failure() -> None:
    assert not schedule.failing_too_long(None, NOW)
    assert not schedule.failing_too_long(NOW - timedelta(days=4, hours=23), NOW)
    assert schedule.failing_too_long(NOW - timedelta(days=5), NOW)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::1",
        "ff02::1",
        "::ffff:10.0.0.1",
    ],
)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert not ssrf.address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert ssrf.address_allowed(ipaddress.ip_address(address))


def test_url_shape() -> None:
    with pytest.raises(ssrf.UrlNotAllowed, match="https"):
        ssrf.parse("http://hooks.example.com/x", ())
    with pytest.raises(ssrf.UrlNotAllowed, match="user name"):
        ssrf.parse("https://user:pw@hooks.example.com/x", ())
    with pytest.raises(ssrf.UrlNotAllowed):
        ssrf.parse("ftp://hooks.example.com/x", ())
    target = ssrf.parse("http://127.0.0.1:8080/in?a=1", ("127.0.0.1",))
    assert (target.listed, target.port, target.path, target.host_header) == (
        True,
        8080,
        "/in?a=1",
        "127.0.0.1:8080",
    )
    # Listing an address does not list a name that resolves to it.
    assert not ssrf.parse("https://localhost/x", ("127.0.0.1",)).listed
    v6 = ssrf.parse("https://[2606:4700::1111]/", ())
    assert v6.host_header == "[2606:4700::1111]"
    assert v6.url_for(ipaddress.ip_address("2606:4700::1111")) == "https://[2606:4700::1111]:443/"


async def test_a_name_resolving_to_loopback_is_refused_unless_listed() -> None:
    with pytest.raises(ssrf.UrlNotAllowed, match="not allowed"):
        await ssrf.check_url("https://localhost/x", ("127.0.0.1",))
    await ssrf.check_url("https://localhost/x", ("localhost",))


def test_signatures_verify_with_the_standardwebhooks_library() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 32
    old = signing.new_secret()
    body = b'{"type":"ping","timestamp":"2026-12-02T08:00:00Z","data":{}}'
    timestamp = int(datetime.now(UTC).timestamp())
    header = signing.signature_header([secret, old], "msg-1", timestamp, body)
    assert len(header.split(" ")) == 2
    headers = {"webhook-id": "msg-1", "webhook-timestamp": str(timestamp)}
    for key in (secret, old):
        Webhook(key).verify(body, {**headers, "webhook-signature": header})
    with pytest.raises(Exception, match="signature"):
        Webhook(signing.new_secret()).verify(body, {**headers, "webhook-signature": header})
