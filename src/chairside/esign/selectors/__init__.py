"""Read queries of e-signatures."""
