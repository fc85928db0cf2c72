"""Forms of the clinical pages."""
