"""Membership: schemas."""
