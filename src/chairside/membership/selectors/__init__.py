"""Membership: selectors."""
