"""Membership: forms."""
