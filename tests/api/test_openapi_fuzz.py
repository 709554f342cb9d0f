"""Property-based fuzzing of every API operation from the OpenAPI document (schemathesis).

Whatever the generated input, the API answers with a documented status and never a 5xx; errors
are problem+json.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from scanroute.bootstrap import Container, build
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodeCreate
from scanroute.web.app import create_app
from tests.conftest import EXPLORE, make_settings, make_tenant


@pytest.fixture(scope="module")
def fuzz_env(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Container, str]]:
    import shutil

    tmp = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, tmp / "db.sqlite")
    ctr = build(make_settings(f"sqlite:///{tmp / 'db.sqlite'}", tmp / "data"))
    t = make_tenant(ctr, "fuzz")
    ctr.codes.create(
        Principal(workspace_id=t.workspace_id, role=Role.OWNER),
        CodeCreate(destination="https://example.com/", slug="fuzzed"),
    )
    yield ctr, t.keys[Role.OWNER]
    ctr.close()


def test_api_never_fails_with_a_server_error(fuzz_env: tuple[Container, str]) -> None:
    ctr, key = fuzz_env
    api = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(ctr))
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 25
    failures: list[str] = []
    for operation in operations:
        if operation.path == "/api/v1/live":
            continue  # an endless event stream by design; tests/insights/test_live.py covers it

        @given(case=operation.as_strategy())
        @settings(
            max_examples=60 if EXPLORE else 12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def exercise(case: schemathesis.Case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"})
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )
            elif response.status_code >= 400:
                raw = response.headers.get("content-type") or [""]
                kind = raw[0] if isinstance(raw, list) else str(raw)
                if not kind.startswith("application/problem+json"):
                    failures.append(f"{case.method} {case.formatted_path}: {response.status_code} as {kind}")

        exercise()
    assert failures == []
