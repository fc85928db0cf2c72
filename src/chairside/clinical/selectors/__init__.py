"""Read queries of clinical records and treatment plans."""
