"""Tasks of availability and booking: slot expansion, invitation emails."""
