"""The SSRF rule for webhook URLs (DESIGN §5), checked when an endpoint is saved and again when
the sender connects.

A URL must be ``https``, or ``http`` to a host listed in ``DOORSTEP_WEBHOOK_ALLOWED_HOSTS``. Its
host must resolve only to public addresses: loopback, private, link-local, unique-local,
carrier-grade NAT (100.64/10), multicast, unspecified, reserved and the cloud metadata addresses
(169.254.169.254, fd00:ec2::254) are refused, unless the host itself is listed. A listed host
is matched as written in the URL: listing ``127.0.0.1`` does not let ``localhost`` through.

At send time the sender resolves the name once, checks every address, and connects to a checked
address (``resolve_checked``), so a DNS answer that turns private after the endpoint was saved is
refused. Redirects are never followed.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import urlsplit

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not "global" already covers most of these; they are named because they are the ones attacks
# aim at, and so a future change of ``is_global`` cannot quietly let them through.
_ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(n)
    for n in ("169.254.169.254/32", "fd00:ec2::254/128", "100.64.0.0/10", "0.0.0.0/8")
)


class UrlNotAllowed(Exception):
    """The URL breaks the SSRF rule; the message says why (shown to the admin)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A URL taken apart: what to resolve, what to connect to and what to send as Host/SNI."""

    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int
    path: str  # path and query, as sent
    listed: bool  # named in the allowed hosts: exempt from the address rule

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def url_for(self, address: IPAddress) -> str:
        """The URL with the checked address in place of the name."""
        host = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse(url: str, allowed_hosts: tuple[str, ...]) -> Target:
    """Check the URL's shape: scheme, host, no credentials. Raises ``UrlNotAllowed``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed("The URL cannot be read.") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in ("http", "https") or not host:
        raise UrlNotAllowed("The URL must be an https:// URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowed("The URL must not carry a user name or password.")
    listed = host in allowed_hosts
    if scheme == "http" and not listed:
        raise UrlNotAllowed("The URL must use https (http only to an allowed host).")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path, listed)


def address_allowed(address: IPAddress) -> bool:
    """Whether an address is one a webhook may be sent to (a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _ALWAYS_REFUSED):
        return False
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal is itself), in the resolver's order."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlNotAllowed(f"The host {host} cannot be resolved.") from exc
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise UrlNotAllowed(f"The host {host} cannot be resolved.")
    return found


async def resolve_checked(target: Target) -> list[IPAddress]:
    """Resolve once and check every address: all must pass (one private answer among public
    ones is refused too, or a resolver could steer us to it). A listed host is exempt."""
    addresses = await resolve(target.host, target.port)
    if not target.listed:
        refused = [a for a in addresses if not address_allowed(a)]
        if refused:
            raise UrlNotAllowed(
                f"The host {target.host} resolves to an address that is not allowed ({refused[0]})."
            )
    return addresses


async def check_url(url: str, allowed_hosts: tuple[str, ...]) -> Target:
    """The whole rule, as at save time."""
    target = parse(url, allowed_hosts)
    await resolve_checked(target)
    return target
