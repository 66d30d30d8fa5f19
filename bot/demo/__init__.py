"""The demo: a scripted week against the sandbox, recorded as a transcript and HTML pages."""
