"""The API-key scheme in the OpenAPI document, from the same table that enforces it.

OpenAPI 3.1 gives scopes only to OAuth2 and OpenID Connect schemes, but lets any other scheme's
requirement list "role names" (3.1.0, Security Requirement Object). So the key is an HTTP bearer
scheme ``ApiKey`` whose description and ``x-scopes`` list the scopes, and each route a key may
call lists its scope in its requirement: ``security: [{"OAuth2PasswordBearer": []},
{"ApiKey": ["stores:read"]}]`` (either one). Routes never for keys keep only the user scheme.
"""

from typing import Any, Final

from fastapi import FastAPI

from backend.api_keys.scopes import SCOPE_BY_OPERATION, SCOPE_DESCRIPTIONS

SCHEME: Final = "ApiKey"
_PROBLEM: Final = {"application/problem+json": {"schema": {"type": "object"}}}
_SCHEME_DESCRIPTION: Final = (
    "An API key (`Authorization: Bearer dsk_...`), made by an admin (`POST /api/v1/api-keys`). "
    "It acts for its organization and reaches only the routes its scopes name: each such route "
    "lists the scope it needs under `security`; any other route answers "
    "`403 insufficient_scope`. A revoked or expired key is `401`. Every answer to a key carries "
    "`RateLimit-Policy` and `RateLimit` headers; over the limit, `429 rate_limited` with "
    "`Retry-After`.\n\nScopes:\n\n"
)


def security_scheme() -> dict[str, Any]:
    listing = "\n".join(f"- `{scope}`: {text}" for scope, text in SCOPE_DESCRIPTIONS.items())
    return {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "dsk_<32 hex><43 base64url>",
        "description": _SCHEME_DESCRIPTION + listing,
        "x-scopes": {scope.value: text for scope, text in SCOPE_DESCRIPTIONS.items()},
    }


def add_api_key_security(schema: dict[str, Any]) -> None:
    """Add the scheme and each key route's requirement and refusals (idempotent)."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = (
        security_scheme()
    )
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            scope = SCOPE_BY_OPERATION.get(operation.get("operationId", ""))
            if scope is not None:
                _document_key_access(operation, scope.value)


def _document_key_access(operation: dict[str, Any], scope: str) -> None:
    others = [s for s in operation.get("security", []) if SCHEME not in s]
    operation["security"] = [*others, {SCHEME: [scope]}]
    note = f"API keys: scope `{scope}`."
    description = operation.get("description", "")
    if note not in description:
        operation["description"] = f"{description}\n\n{note}".strip()
    responses = operation.setdefault("responses", {})
    responses.setdefault(
        "403",
        {
            "description": "An API key without the scope (`insufficient_scope`, with "
            "`required_scope`)",
            "content": _PROBLEM,
        },
    )
    responses.setdefault(
        "429",
        {"description": "The API key is over its rate limit (`rate_limited`)", "content": _PROBLEM},
    )


def install_api_key_docs(app: FastAPI) -> None:
    """Post-process the app's generated OpenAPI document (after whatever made it so far)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        add_api_key_security(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
