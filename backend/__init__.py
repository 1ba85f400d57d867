"""Doorstep: proof of every field-sales visit at the store's door."""
