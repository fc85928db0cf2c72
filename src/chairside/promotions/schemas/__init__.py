"""Promotions: schemas."""
