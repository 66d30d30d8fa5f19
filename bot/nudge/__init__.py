"""What a nudge DM says: its items, drafts and blocks, and refreshing a DM that was sent."""
