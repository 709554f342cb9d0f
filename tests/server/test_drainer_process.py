"""``scanroute serve``'s drainer process: it stores the scans, is restarted if it dies, and
stops after the workers (their last appends are stored)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from scanroute.capture.drain_process import read_status
from tests.server.conftest import Server, scan_many
from tests.server.test_durability import IPHONE, make_code, sid, stored_ids, wait_for

pytestmark = pytest.mark.server


def drainer_pid(data_dir: Path, not_pid: int | None = None, timeout: float = 60) -> int:
    """The running drainer process's id (from its status file), other than ``not_pid``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(data_dir / "spool")
        if status is not None and status["pid"] != not_pid:
            pid = int(status["pid"])
            try:
                os.kill(pid, 0)
                return pid
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    raise AssertionError("no drainer process reported its status")


def test_killed_drainer_is_restarted_and_loses_nothing(
    db_url: str, tmp_path: Path, server: Server, server_env: dict[str, str]
) -> None:
    make_code(db_url, tmp_path, "drained")
    data_dir = Path(server_env["SCANROUTE_DATA_DIR"])
    first = drainer_pid(data_dir)
    assert server.proc is not None
    assert first != server.proc.pid
    received: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                r = client.get(f"{server.url}/drained", headers={"user-agent": IPHONE})
                if r.status_code == 302:
                    received.append(r.headers["location"])

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    os.kill(first, signal.SIGKILL)  # mid-batch, perhaps: the batch is replayed, idempotently
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    second = drainer_pid(data_dir, not_pid=first)
    assert second != first
    want = {sid(loc) for loc in received}
    assert len(want) > 20
    ids = wait_for(db_url, lambda ids: want <= ids, timeout=60)
    assert ids == want  # all stored, each once
    # still draining after the restart
    more = scan_many(server.url, "drained", 5, ua=IPHONE)
    assert len(more) == 5
    assert {sid(loc) for loc in more} <= wait_for(db_url, lambda ids: len(ids) == len(want) + 5)


def test_graceful_stop_stops_the_drainer_after_the_workers(
    db_url: str, tmp_path: Path, server: Server, server_env: dict[str, str]
) -> None:
    make_code(db_url, tmp_path, "last")
    pid = drainer_pid(Path(server_env["SCANROUTE_DATA_DIR"]))
    got = scan_many(server.url, "last", 20, ua=IPHONE)
    assert server.stop() in (0, -15)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone with serve
    assert {sid(loc) for loc in got} == stored_ids(db_url)
    assert list((Path(server_env["SCANROUTE_DATA_DIR"]) / "spool").glob("w-*")) == []


def test_drainer_yields_a_busy_core_to_the_workers(server: Server, server_env: dict[str, str]) -> None:
    """Its nice value, and (in its own session, under Linux's autogroup) its group's nice value:
    without the latter the scheduler split a shared core half and half with the workers."""
    from scanroute.capture.drain_process import NICE

    assert server.proc is not None
    pid = drainer_pid(Path(server_env["SCANROUTE_DATA_DIR"]))
    serve_nice = os.getpriority(os.PRIO_PROCESS, server.proc.pid)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(serve_nice + NICE, 19)  # 19: the lowest priority
    assert os.getsid(pid) != os.getsid(server.proc.pid)  # a session (so an autogroup) of its own
    autogroup = Path(f"/proc/{pid}/autogroup")
    if Path("/proc/sys/kernel/sched_autogroup_enabled").exists():
        assert autogroup.read_text().split()[-2:] == ["nice", str(NICE)]
