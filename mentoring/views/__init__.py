"""Views of the core domain, split by audience: core (home, health), console_* (program
administrators), participant (learners and guides)."""
