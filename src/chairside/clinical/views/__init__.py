"""Pages of clinical records and treatment plans."""
