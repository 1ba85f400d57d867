"""Scoped API keys for third-party apps (``dsk_...``): see docs/integration.md, "Keys and
scopes". Other domains use ``service``; the route table is ``scopes``."""
