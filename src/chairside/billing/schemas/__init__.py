"""API schemas of billing."""
