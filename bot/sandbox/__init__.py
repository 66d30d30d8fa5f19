"""A local Slack for tests, benchmarks and `followup demo`: Web API sandbox and request driver."""

from bot.sandbox.driver import DriverResponse, SlackDriver
from bot.sandbox.webapi import SlackSandbox
from bot.sandbox.workspace import RecordedCall, RecordedResponse

__all__ = ["DriverResponse", "RecordedCall", "RecordedResponse", "SlackDriver", "SlackSandbox"]
