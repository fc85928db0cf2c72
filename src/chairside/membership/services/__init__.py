"""Membership: services."""
