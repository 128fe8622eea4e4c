"""Training stages as generators of events (no Qt)."""
