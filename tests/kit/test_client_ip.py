from ipaddress import ip_address

import pytest

from backend.kit.client_ip import client_ip, parse_address, parse_networks

PROXIES = parse_networks("10.0.0.0/8, 192.0.2.1, ::1")


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert client_ip("203.0.113.5", ["198.51.100.1"], PROXIES) == ip_address("203.0.113.5")
    assert client_ip("203.0.113.5", [], ()) == ip_address("203.0.113.5")
    # No proxy trusted at all: the header means nothing, even from loopback.
    assert client_ip("127.0.0.1", ["198.51.100.1"], ()) == ip_address("127.0.0.1")


def test_a_trusted_proxy_names_the_client() -> None:
    assert client_ip("10.1.2.3", ["198.51.100.1"], PROXIES) == ip_address("198.51.100.1")
    assert client_ip("::1", ["198.51.100.1"], PROXIES) == ip_address("198.51.100.1")


def test_the_right_most_untrusted_address_wins_over_what_the_client_wrote() -> None:
    # The client wrote "6.6.6.6" itself; our proxies appended the rest.
    chain = ["6.6.6.6, 198.51.100.1, 10.0.0.7"]
    assert client_ip("10.0.0.9", chain, PROXIES) == ip_address("198.51.100.1")
    # Several headers are one list, in order.
    headers = ["6.6.6.6", "198.51.100.1", "10.0.0.7"]
    assert client_ip("10.0.0.9", headers, PROXIES) == ip_address("198.51.100.1")


def test_only_trusted_hops_leave_the_left_most_one() -> None:
    assert client_ip("10.0.0.9", ["10.0.0.5, 10.0.0.7"], PROXIES) == ip_address("10.0.0.5")
    assert client_ip("10.0.0.9", [], PROXIES) == ip_address("10.0.0.9")
    assert client_ip("10.0.0.9", [" , "], PROXIES) == ip_address("10.0.0.9")


def test_garbage_stops_the_walk_at_the_last_trusted_hop() -> None:
    assert client_ip("10.0.0.9", ["198.51.100.1, unknown"], PROXIES) == ip_address("10.0.0.9")
    assert client_ip("10.0.0.9", ["1.1.1.1, unknown, 10.0.0.7"], PROXIES) == ip_address("10.0.0.7")


def test_a_peer_that_is_no_address_gives_none() -> None:
    assert client_ip(None, ["198.51.100.1"], PROXIES) is None
    assert client_ip("", [], PROXIES) is None
    assert client_ip("/run/doorstep.sock", [], PROXIES) is None


@pytest.mark.parametrize(
    ("written", "address"),
    [
        ("198.51.100.1", "198.51.100.1"),
        (" 198.51.100.1 ", "198.51.100.1"),
        ("198.51.100.1:4711", "198.51.100.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:DB8:0::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
    ],
)
def test_addresses_are_read_as_proxies_write_them(written: str, address: str) -> None:
    assert parse_address(written) == ip_address(address)


@pytest.mark.parametrize(
    "written", ["unknown", "", "[2001:db8::1", "[::1]x", "1.2.3.4:port", "_hidden", "1.2.3"]
)
def test_non_addresses_are_none(written: str) -> None:
    assert parse_address(written) is None


def test_networks_are_parsed_leniently_but_not_garbage() -> None:
    assert [str(n) for n in parse_networks("10.1.2.3/8 , 192.0.2.1,::1")] == [
        "10.0.0.0/8",
        "192.0.2.1/32",
        "::1/128",
    ]
    assert parse_networks("") == ()
    assert parse_networks(["fd00::/8"]) == parse_networks("fd00::/8")
    with pytest.raises(ValueError, match="not an IP address"):
        parse_networks("10.0.0.0/8, proxy.internal")
