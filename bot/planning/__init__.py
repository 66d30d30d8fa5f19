"""Planning a case's follow-ups against the database: one case, or a batch at once."""
