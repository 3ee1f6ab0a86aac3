"""The one outbox: every email the product sends is claimed, sent and swept here (R11).
See notify/README.md."""
