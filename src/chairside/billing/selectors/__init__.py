"""Read queries of billing."""
