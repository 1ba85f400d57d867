"""What an API key may call: the one table of route (operation id) -> the scope it needs.

A key reaches a route only when the route's operation id is in :data:`SCOPE_BY_OPERATION` and
the key holds that scope; every other route refuses it with ``403 insufficient_scope``
(``backend.auth.dependencies.get_principal`` asks :func:`required_scope`). Every operation of the
app is in exactly one of the three sets below, and a test fails on one that is in none, so a new
route is neither silently open to keys nor silently closed to them: whoever adds it decides.

Pure: no I/O. The OpenAPI document is post-processed from the same table
(``backend.api_keys.openapi``), so what the docs say a key may call is what it may call.
"""

from enum import StrEnum
from typing import Final


class Scope(StrEnum):
    stores_read = "stores:read"
    stores_write = "stores:write"
    visits_read = "visits:read"
    actions_read = "actions:read"
    audits_read = "audits:read"
    events_read = "events:read"
    reports_read = "reports:read"


# What each scope lets a key do (the OpenAPI security scheme and docs/integration.md say it too).
SCOPE_DESCRIPTIONS: Final[dict[Scope, str]] = {
    Scope.stores_read: "Read stores (without their door codes) and each store's timeline.",
    Scope.stores_write: "Create and edit stores, and import them from CSV.",
    Scope.visits_read: "Read visits, their photos and summaries, and the visit forms.",
    Scope.actions_read: "Read next actions (follow-ups) and their history.",
    Scope.audits_read: "Read audits, rectifications, their photos and the audit checklists.",
    Scope.events_read: "Follow the change feed (GET /api/v1/events).",
    Scope.reports_read: "Read dashboards and exports.",
}

SCOPE_BY_OPERATION: Final[dict[str, Scope]] = {
    # stores: a key reads them org-wide, never with ``qr_url`` (stores.service.shows_door_code)
    "stores_list": Scope.stores_read,
    "stores_get": Scope.stores_read,
    "stores_timeline": Scope.stores_read,
    "stores_create": Scope.stores_write,
    "stores_update": Scope.stores_write,
    "stores_import": Scope.stores_write,
    # visits, their photo files and summary cards, and the forms their answers follow
    "visits_list": Scope.visits_read,
    "visits_get": Scope.visits_read,
    "visits_get_photo": Scope.visits_read,
    "visits_get_photo_thumb": Scope.visits_read,
    "visits_summary": Scope.visits_read,
    "visits_summary_png": Scope.visits_read,
    "customer_types_list": Scope.visits_read,
    "customer_types_visit_form_get": Scope.visits_read,
    # next actions
    "next_actions_list": Scope.actions_read,
    "next_actions_get": Scope.actions_read,
    # audits and rectifications, their photos and the checklists their results follow
    "audits_list": Scope.audits_read,
    "audits_get": Scope.audits_read,
    "audits_get_item_photo": Scope.audits_read,
    "rectifications_list": Scope.audits_read,
    "rectifications_get": Scope.audits_read,
    "rectifications_get_before_photo": Scope.audits_read,
    "rectifications_get_after_photo": Scope.audits_read,
    "audit_templates_list": Scope.audits_read,
    "audit_templates_checklist_get": Scope.audits_read,
    # the change feed
    "events_feed": Scope.events_read,
    # reports:read: the dashboard and exports join here when they exist (DESIGN §5).
}

# Routes that take a signed-in user and never an API key, whatever its scopes: admin-only
# routes (users, teams' changes, API keys, webhooks, customer types and forms' changes, QR codes
# and posters, audit templates' changes), field work that only a person at the door does
# (check-in, photos, answers, submit, audits, rectification steps), reviews, and what belongs to
# one person (me, notifications, share links, the client config, the review queue).
NEVER_FOR_KEYS: Final[frozenset[str]] = frozenset(
    {
        # admin-only
        "users_create",
        "users_list",
        "users_get",
        "users_update",
        "teams_create",
        "teams_update",
        "teams_add_members",
        "teams_remove_member",
        "teams_list",
        "teams_get",
        "api_keys_create",
        "api_keys_list",
        "api_keys_revoke",
        "webhook_endpoints_create",
        "webhook_endpoints_list",
        "webhook_endpoints_get",
        "webhook_endpoints_update",
        "webhook_endpoints_delete",
        "webhook_endpoints_rotate_secret",
        "webhook_endpoints_test",
        "webhook_endpoints_deliveries",
        "webhook_endpoints_redeliver_failed",
        "webhook_deliveries_redeliver",
        "customer_types_create",
        "customer_types_visit_form_publish",
        "audit_templates_create",
        "audit_templates_checklist_publish",
        "stores_rotate_qr",
        "stores_qr_png",
        "stores_qr_svg",
        "stores_poster",
        "stores_posters_batch",
        # a person's field work and reviews
        "visits_check_in",
        "visits_abandon",
        "visits_put_photo",
        "visits_put_answers",
        "visits_put_next_action",
        "visits_submit",
        "visits_approve",
        "visits_reject",
        "visits_share",
        "review_queue",
        "next_actions_complete",
        "next_actions_reschedule",
        "audits_start",
        "audits_put_results",
        "audits_put_item_photo",
        "audits_submit",
        "audits_abandon",
        "rectifications_put_after_photo",
        "rectifications_submit",
        "rectifications_verify",
        "rectifications_reopen",
        # one person's own
        "me_get",
        "notifications_list",
        "notifications_read",
        "config_get",
        "calendar_feed_get",
        "calendar_feed_rotate",
    }
)

# Routes that take no credentials at all (the calendar file's URL is its own secret): a key is
# neither needed nor looked at.
PUBLIC_OPERATIONS: Final[frozenset[str]] = frozenset(
    {"auth_token", "ops_healthz", "ops_readyz", "ops_metrics", "calendar_feed_ics"}
)


def required_scope(operation_id: str | None) -> Scope | None:
    """The scope a key needs for the route, or None: the route is never for keys."""
    if operation_id is None:
        return None
    return SCOPE_BY_OPERATION.get(operation_id)
