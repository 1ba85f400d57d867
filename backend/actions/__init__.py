"""Next actions: the commitment each visit ends with, its countdown, reminders and escalation."""
