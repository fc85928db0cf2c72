"""Forms of the e-signature pages."""
