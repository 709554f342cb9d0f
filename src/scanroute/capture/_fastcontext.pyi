"""Types of the compiled fast path of ``ContextBuilder.build`` (``_fastcontext.c``)."""

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
    ) -> None: ...
    def build(self, scope: Mapping[str, Any]) -> Any: ...
