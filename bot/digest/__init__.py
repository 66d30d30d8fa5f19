"""The weekly team digest: content, blocks, chart, posting, `/followup digest`, the CLI export."""
