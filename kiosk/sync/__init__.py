"""Outbox relay to the back office and catalog pull (sync issue)."""
