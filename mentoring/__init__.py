"""Programs, terms, relationships, assessment roles, the rules, notes and agreements."""
