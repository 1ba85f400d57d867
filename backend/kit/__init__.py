"""Shared pieces every domain may use: model base, pagination, geo, time, signing."""
