"""Per-user notification inbox (reminders, escalations, rejected visits...)."""
