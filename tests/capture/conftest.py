"""Shared fixtures for the capture tests: parsers are costly to build, so build them once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from scanroute.capture.bots import BotDetector
from scanroute.capture.context import ContextBuilder
from scanroute.capture.geo import GeoLocator
from scanroute.capture.useragent import AgentParser

BuilderFactory = Callable[..., ContextBuilder]


@pytest.fixture(scope="session")
def agent_parser() -> AgentParser:
    return AgentParser(cache_size=1024)


@pytest.fixture(scope="session")
def bot_detector() -> BotDetector:
    return BotDetector(extra_patterns=(), cache_size=1024)


@pytest.fixture(scope="session")
def geo_locator() -> GeoLocator:
    return GeoLocator(None)


@pytest.fixture(scope="session")
def make_builder(
    agent_parser: AgentParser, bot_detector: BotDetector, geo_locator: GeoLocator
) -> BuilderFactory:
    def factory(trusted: Sequence[str] = (), **kwargs: Any) -> ContextBuilder:
        return ContextBuilder(trusted, agent_parser, bot_detector, geo_locator, **kwargs)

    return factory
