"""Every write of clinical records and treatment plans: one function per action, audited."""
