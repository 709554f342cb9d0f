"""Coalesced spool appends: one write per event-loop iteration, every line on disk before any
appender resumes, errors raised in every appender, on asyncio's loop and on uvloop's."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop

from scanroute.capture.coalesce import SpoolCoalescer
from scanroute.capture.spool import Spool

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    def runner(coro: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=LOOPS[request.param]) as r:
            return r.run(coro)

    return runner


def on_disk(spool: Spool) -> list[bytes]:
    return spool.read(spool.checkpoint(), 10_000).lines


def test_one_iterations_appends_are_all_written_before_any_appender_resumes(
    tmp_path: Path, run: Callable[[Coroutine[Any, Any, Any]], Any]
) -> None:
    spool = Spool(tmp_path / "s", fsync_interval=0)
    coalescer = SpoolCoalescer(spool)
    seen: dict[int, int] = {}

    async def scan(i: int) -> None:
        await coalescer.append(f'{{"n":{i}}}'.encode())
        seen[i] = len(on_disk(spool))  # what the file holds when this appender may reply

    async def main() -> None:
        await asyncio.gather(*(scan(i) for i in range(20)))
        await scan(20)  # a later iteration: a batch of its own

    run(main())
    assert on_disk(spool) == [f'{{"n":{i}}}'.encode() for i in range(21)]
    assert {seen[i] for i in range(20)} == {20}  # the whole first batch, before the first reply
    assert seen[20] == 21
    spool.close()


def _close_segment(spool: Spool) -> None:
    assert spool._fd is not None
    os.close(spool._fd)
    spool._fd = os.open(os.devnull, os.O_RDONLY)  # in its place one that refuses writes (EBADF)


BREAKS: dict[str, tuple[Callable[[Spool], None], type[Exception]]] = {
    "write fails": (_close_segment, OSError),
    "spool closed": (Spool.close, RuntimeError),  # e.g. a scan still in flight at shutdown
}


@pytest.mark.parametrize("how", sorted(BREAKS))
def test_a_failed_write_raises_in_every_appender_of_the_batch(
    tmp_path: Path, run: Callable[[Coroutine[Any, Any, Any]], Any], how: str
) -> None:
    spool = Spool(tmp_path / "s", fsync_interval=0)
    coalescer = SpoolCoalescer(spool)
    breaks, raised = BREAKS[how]
    breaks(spool)

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(*(coalescer.append(b'{"n":1}') for _ in range(5)), return_exceptions=True)

    results = run(main())
    assert len(results) == 5
    assert all(type(r) is raised for r in results)  # never None: no appender believes it wrote
    spool.close()


def test_a_cancelled_appender_still_has_its_line_written(
    tmp_path: Path, run: Callable[[Coroutine[Any, Any, Any]], Any]
) -> None:
    spool = Spool(tmp_path / "s", fsync_interval=0)
    coalescer = SpoolCoalescer(spool)

    async def main() -> bool:
        task = asyncio.create_task(coalescer.append(b'{"n":1}'))
        await asyncio.sleep(0)  # the task queues its line and yields
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert run(main()) is True
    assert on_disk(spool) == [b'{"n":1}']
    spool.close()


def test_append_many_writes_lines_in_order_across_a_segment_roll(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", fsync_interval=0, segment_bytes=64)
    spool.append_many([b"a" * 30, b"b" * 30])
    spool.append_many([])  # nothing to write: no empty line
    spool.append_many([b"c" * 30])  # would pass 64 bytes: a new segment
    assert len(spool.segments()) == 2
    assert on_disk(spool) == [b"a" * 30, b"b" * 30, b"c" * 30]
    spool.close()
