"""Client-facing communications: drafted follow-ups and their message templates."""
