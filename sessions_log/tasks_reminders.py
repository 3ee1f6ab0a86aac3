"""Tasks of reminders and nudges (R11)."""
