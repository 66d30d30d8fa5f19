"""Start-up and the long-running process: the Bolt app, the HTTP server and its door, the
scheduler, the listener pool.
"""
