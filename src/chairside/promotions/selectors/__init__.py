"""Promotions: selectors."""
