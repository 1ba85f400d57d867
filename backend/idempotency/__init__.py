"""The ``idempotency_keys`` table behind ``kit.idempotency`` (the middleware knows no table)."""
