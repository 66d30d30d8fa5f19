"""Closed cases in: accept one, write a batch of webhook deliveries, the watched channel, the
manual log, the CSV import.
"""
