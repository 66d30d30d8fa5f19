"""Write-back: outcomes noted on the helpdesk's ticket, failed fixes reopened there."""
