"""Fixtures of the compiled scan path's tests: the capture tests' parsers and builders."""

from tests.capture.conftest import agent_parser, bot_detector, geo_locator, make_builder

__all__ = ["agent_parser", "bot_detector", "geo_locator", "make_builder"]
