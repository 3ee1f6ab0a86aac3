"""Survey campaigns: open, invite, remind, close (R11)."""
