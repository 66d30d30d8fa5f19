"""Who is who: Slack profiles, the roster and links, away and cover, triage of cases without an
owner.
"""
