"""Proof of presence at a store's door: the rules every visit check-in and audit start share."""
