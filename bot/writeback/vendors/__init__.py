"""One module per helpdesk: the REST calls that note a ticket and reopen it."""
