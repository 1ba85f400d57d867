from backend.errors import AppError, Conflict


class WebhookUrlNotAllowed(AppError):
    """The URL breaks the SSRF rule (https only; no private, loopback or metadata address unless
    the host is listed in DOORSTEP_WEBHOOK_ALLOWED_HOSTS)."""

    status, code = 422, "webhook_url_not_allowed"


class EndpointDisabled(Conflict):
    """Nothing is sent to a disabled endpoint; enable it first (PATCH ``enabled: true``)."""
