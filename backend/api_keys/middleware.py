"""The rate-limit headers on every response to an API key, whatever the route answers.

The key is checked in a dependency (``backend.auth.dependencies.get_principal``), but a route
may answer with its own ``Response`` (a photo, a PNG) or an error raised later (a 404), and
neither carries headers a dependency set. So the check leaves its headers in a slot this pure
ASGI middleware put in the request's scope, and the middleware adds them to the response start.
Refusals from the check itself (429, 403) carry the headers in their own error.
"""

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCOPE_KEY: Final = "doorstep.rate_limit_headers"


class HeaderSlot:
    __slots__ = ("headers",)

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}


def set_response_headers(scope: Scope, headers: dict[str, str]) -> None:
    """Headers for this request's response (nothing happens outside the middleware)."""
    slot = scope.get(SCOPE_KEY)
    if isinstance(slot, HeaderSlot):
        slot.headers = headers


class RateLimitHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        slot = HeaderSlot()
        scope[SCOPE_KEY] = slot

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and slot.headers:
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in slot.headers.items()
                    if name.lower().encode("latin-1") not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
