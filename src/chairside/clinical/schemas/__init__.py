"""API schemas of clinical records and treatment plans."""
