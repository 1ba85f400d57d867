"""The calendar feed: a secret ``.ics`` URL per user with their open next actions and
rectifications (a supervisor's: their team's), for any calendar app to subscribe to."""
