"""The follow-up policy, working calendars and touch plans: pure values and functions, with no
database and no Slack.
"""
