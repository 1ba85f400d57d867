"""Visit summaries: the card's content (pure), its PNG, the signed share link and the read-only
page behind it."""
