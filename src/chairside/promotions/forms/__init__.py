"""Promotions: forms."""
