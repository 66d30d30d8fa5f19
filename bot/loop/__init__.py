"""Closing the loop: recording an outcome, escalation, snooze, the outcome modals, an agent's
queue.
"""
