"""Normalisation: one AuditData object, whatever container it came in, to typed column values."""
