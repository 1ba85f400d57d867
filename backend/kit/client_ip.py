"""Which address a request comes from (pure): the socket peer, or what trusted proxies say.

``X-Forwarded-For`` is a list each proxy appends its peer to, so only its right-hand end can be
believed, and only as far as the hops that wrote it are trusted. Walking from the right, every
address that is a trusted proxy is skipped; the first one that is not is the client. Anything to
its left was written by the client itself and is ignored. When every hop is trusted, the
left-most one is the best that is known. The same rule as uvicorn's ``--forwarded-allow-ips``,
so the two agree when fed the same list (``doorstep serve`` feeds uvicorn from
``DOORSTEP_TRUSTED_PROXIES``).
"""

import ipaddress
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


def parse_networks(value: object) -> tuple[IPNetwork, ...]:
    """Addresses and CIDR networks from a comma- or space-separated string (or a list).

    A bare address is a one-address network; host bits under a prefix are tolerated
    (``10.1.2.3/8`` is ``10.0.0.0/8``). Raises ``ValueError`` on anything else.
    """
    if isinstance(value, str):
        items: Iterable[object] = value.replace(",", " ").split()
    elif isinstance(value, Iterable):
        items = value
    else:
        raise ValueError("expected addresses or networks, comma-separated")
    networks: list[IPNetwork] = []
    for item in items:
        if isinstance(item, IPv4Network | IPv6Network):
            networks.append(item)
            continue
        try:
            networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an IP address or network") from exc
    return tuple(networks)


def parse_address(value: str | None) -> IPAddress | None:
    """An address as proxies and servers write it (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``,
    ``fe80::1%eth0``), normalised: zone dropped, IPv4-mapped IPv6 as IPv4. ``None`` if it is not
    one (a unix socket, ``unknown``, garbage)."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("["):
        text, bracket, port = text[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
    elif text.count(":") == 1:  # IPv4 with a port; IPv6 has two colons at least
        text, _, port = text.partition(":")
        if not port.isdigit():
            return None
    text = text.partition("%")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in trusted)


def client_ip(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]
) -> IPAddress | None:
    """The client's address: ``peer`` (the socket's other end) unless it is a trusted proxy,
    then the right-most untrusted address of ``forwarded_for`` (every ``X-Forwarded-For``
    header, in order). An entry that is not an address ends the walk at the last trusted hop.
    ``None`` when the peer itself is not an IP address."""
    address = parse_address(peer)
    if address is None or not _is_trusted(address, trusted):
        return address
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        forwarded = parse_address(hop)
        if forwarded is None:
            break
        address = forwarded
        if not _is_trusted(address, trusted):
            break
    return address
