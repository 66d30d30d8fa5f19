"""Talking to Slack: the paced Web API client, text escaping, Block Kit helpers."""
