"""Forms of the billing pages."""
