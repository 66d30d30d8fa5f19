"""Due follow-ups out as DMs, exactly once: claims, the careful path, delivery, overdue passes."""
