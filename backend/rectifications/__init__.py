"""Rectifications (整改): failed audit items turned into tasks closed with a photo at the door."""
