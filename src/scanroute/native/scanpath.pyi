"""Types of the compiled scan path (``scanroute/native/*.c``)."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

class FastContext:
    """Builds the contexts of ordinary requests; declines (``None``) everything else."""

    def __init__(
        self,
        *,
        trusted: Sequence[tuple[int, int]],
        excluded: Sequence[tuple[int, int]],
        mode: int,
        opt_out: str,
        clients: dict[Any, Any],
        client_fn: Callable[[Any], Any],
        geo_fn: Callable[[Any], Any],
        query_fn: Callable[[bytes], dict[str, str]],
        visit_type: type,
        context_type: type,
        ipv4_type: type,
        countries: tuple[Any, ...] | None = None,
    ) -> None: ...
    def build(self, scope: Mapping[str, Any]) -> Any: ...

class PlainScan:
    """Answers whole scans of codes with a plan (``redirect.route.plain_plan``, ``routed_plan``)."""

    def __init__(
        self,
        *,
        event_type: type,
        encode: Callable[[Any], bytes],
        reply_type: type,
        context_type: type,
        host_fn: Callable[[str], str | None],
        headers: tuple[tuple[bytes, bytes], ...],
    ) -> None: ...
    def answer(self, ctx: Any, plan: tuple[Any, ...], head: bool) -> Any: ...
    def finish(
        self,
        ctx: Any,
        base: tuple[Any, ...],
        prefix: str | None,
        suffix: str,
        plain: str,
        scan_id: str,
        now_us: int,
        visitor: str | None,
        returning: bool,
        rule: int | None,
        variant: str | None,
        caps: list[str],
    ) -> Any: ...
    def answer_routed(self, ctx: Any, routed_plan: tuple[Any, ...], head: bool) -> Any: ...
    def set_counters(
        self, history: dict[Any, int], loaded: set[int], caps: dict[int, Any], size: int
    ) -> None: ...
    def set_day(self, start_us: int, end_us: int, keyed: Any, previous: Any = None) -> None: ...

class Rules:
    """A code's rules lowered by ``routing.program.lower``; ``pick`` mirrors ``engine.resolve``."""

    def __init__(
        self,
        *,
        program: tuple[Any, ...],
        offset_fn: Callable[[int], int],
        point_fn: Callable[[bytes, str], float],
        ipv4_type: type,
    ) -> None: ...
    def pick(
        self, visit: Any, now_us: int, prior: int, caps: Mapping[str, int], subject: str
    ) -> int | None: ...

class ScanPath:
    """The edge's compiled first step: context, route, and (for a code with a plan) the whole answer."""

    def __init__(
        self, *, context: FastContext, plain: PlainScan, routes: dict[str, Any], hits: Any
    ) -> None: ...
    def scan(self, scope: Mapping[str, Any], head: bool) -> Any: ...

def new_scan_id() -> str: ...
def keyed_hash(keyed: Any, workspace_id: int, truncated_ip: str, user_agent: str) -> str: ...
