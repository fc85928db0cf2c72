"""Promotions: services."""
