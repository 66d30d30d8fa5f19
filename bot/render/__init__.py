"""The Jinja2 renderer and the draft it renders: case facts in, text out (no database, no Slack
calls).
"""
