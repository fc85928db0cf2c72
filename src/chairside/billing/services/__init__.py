"""Every write of billing: one function per business action, in a transaction, audited."""
