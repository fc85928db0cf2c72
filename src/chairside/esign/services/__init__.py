"""Business actions of e-signatures: documents, identity checks, enrolment, signing."""
