"""Membership: views."""
