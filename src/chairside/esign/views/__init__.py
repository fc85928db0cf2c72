"""Pages of e-signatures: staff console pages and the patient's public signing page."""
