"""Promotions: views."""
