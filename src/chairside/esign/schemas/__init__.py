"""API schemas of e-signatures."""
