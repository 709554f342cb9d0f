"""Bulk print runs: a CSV of placements → codes (all or nothing), ZIP and a label PDF, as a job."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from scanroute.bootstrap import Container
from scanroute.domain.workspace import Role
from scanroute.storage.qr import job_table
from scanroute.storage.schema import campaigns, codes, placements
from tests.conftest import Tenant
from tests.qr_api.conftest import PROBLEM, decode, decode_png, decode_svg, pdf_pages, wait_job

HEADER = "name,medium,city,address,campaign,destination,variant,caption\n"


def placements_csv(n: int, *, bad_row: int | None = None) -> str:
    lines = []
    for i in range(1, n + 1):
        dest = "javascript:alert(1)" if i == bad_row else f"https://example.com/menu?table={i}"
        variant = "A" if i % 2 else "B"
        lines.append(f"Table {i},table_tent,Lyon,{i} Rue de la Paix,Spring,{dest},{variant},Table {i} · Lyon")
    return HEADER + "\n".join(lines) + "\n"


def counts(ctr: Container, ws: int) -> tuple[int, int, int]:
    with ctr.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t).where(t.c.workspace_id == ws)).scalar_one())
            for t in (codes, placements, campaigns)
        )


def test_200_rows_make_200_codes_a_zip_and_a_label_pdf(
    client: TestClient, ctr: Container, tenant: Tenant
) -> None:
    r = client.post(
        "/api/v1/bulk", json={"csv": placements_csv(200), "columns": 3, "rows": 8}, headers=tenant.auth()
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["created"] == 200
    assert len(body["codes"]) == 200
    assert r.headers["location"] == f"/api/v1/jobs/{body['job']['id']}"
    assert counts(ctr, tenant.workspace_id) == (200, 200, 1)
    assert {c["creative"] for c in body["codes"]} == {"A", "B"}
    job = wait_job(client, tenant, body["job"]["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == job["total"] == 400
    assert job["result"]["not_decoding"] == []
    assert set(job["downloads"]) == {"zip", "pdf"}
    short_urls = {c["short_url"] for c in body["codes"]}

    z = client.get(job["downloads"]["zip"], headers=tenant.auth(Role.VIEWER))
    assert z.status_code == 200
    assert z.headers["content-type"] == "application/zip"
    assert f'filename="print-run-{job["id"]}.zip"' in z.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        names = zf.namelist()
        assert len([n for n in names if n.endswith(".svg")]) == 200
        assert len([n for n in names if n.endswith(".png")]) == 200
        manifest = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode())))
        assert len(manifest) == 200
        first = manifest[0]
        assert first["placement"] == "Table 1"
        assert first["svg"] == f"table-1--{first['slug'].lower()}.svg"
        assert {m["short_url"] for m in manifest} == short_urls
        for m in manifest[:5]:  # spot-check both formats of a few codes
            assert decode_png(zf.read(m["png"])) == [m["short_url"]]
            assert decode_svg(zf.read(m["svg"])) == [m["short_url"]]

    p = client.get(job["downloads"]["pdf"], headers=tenant.auth(Role.VIEWER))
    assert p.status_code == 200
    assert p.content.startswith(b"%PDF-")
    pages = pdf_pages(p.content, scale=3.0)
    assert len(pages) == 9  # 200 labels at 24 per A4 page
    assert pages[0].size == (round(595.2756 * 3), round(841.8898 * 3))
    found: list[str] = []
    for page in pages:
        found += decode(page)
    assert sorted(found) == sorted(short_urls)

    with ctr.db.read() as conn:
        qa = [
            r.qa for r in conn.execute(select(codes.c.qa).where(codes.c.workspace_id == tenant.workspace_id))
        ]
    assert all(q["scope"] == "code" and q["decodes"] and q["matches"] for q in qa)


def test_one_bad_row_creates_nothing_and_names_the_row(
    client: TestClient, ctr: Container, tenant: Tenant
) -> None:
    r = client.post("/api/v1/bulk", json={"csv": placements_csv(50, bad_row=37)}, headers=tenant.auth())
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "csv"
    assert "row 37 (line 38): destination: must be an http or https URL" in r.json()["detail"]
    assert "nothing was created" in r.json()["detail"]
    assert counts(ctr, tenant.workspace_id) == (0, 0, 0)
    assert client.get("/api/v1/jobs", headers=tenant.auth()).json()["items"] == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (HEADER + "T1,spaceship,Lyon,,,https://example.com/,A,\n", "row 1 (line 2): medium"),
        (HEADER + "T1,poster,Lyon,,,,A,\n", "row 1 (line 2): destination: is required"),
        ("name,colour\nT1,red\n", "unknown column(s) colour"),
        (HEADER, "no data rows"),
        ("\r0", "a header row is required"),  # a bare carriage return ends a line (was a 500)
        (HEADER + "T1,poster,Lyon,,,https://example.com/,A,,extra\n", "more cells than header"),
    ],
)
def test_csv_errors_are_clear(
    client: TestClient, ctr: Container, tenant: Tenant, text: str, words: str
) -> None:
    r = client.post("/api/v1/bulk", json={"csv": text}, headers=tenant.auth())
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]
    assert counts(ctr, tenant.workspace_id) == (0, 0, 0)


def test_a_taken_slug_found_in_the_transaction_rolls_everything_back(
    client: TestClient, ctr: Container, tenant: Tenant
) -> None:
    client.post(
        "/api/v1/codes",
        json={"destination": "https://example.com/", "slug": "taken-1"},
        headers=tenant.auth(),
    )
    text = "name,destination,slug\nA,https://example.com/a,free-1\nB,https://example.com/b,taken-1\n"
    r = client.post(
        "/api/v1/bulk/upload", files={"file": ("p.csv", text.encode(), "text/csv")}, headers=tenant.auth()
    )
    assert r.status_code == 422
    assert "row 2 (line 3): slug: slug 'taken-1' is already taken" in r.json()["detail"]
    assert counts(ctr, tenant.workspace_id) == (1, 0, 0)


def test_layout_options_are_checked_before_anything_is_created(
    client: TestClient, ctr: Container, tenant: Tenant
) -> None:
    r = client.post(
        "/api/v1/bulk", json={"csv": placements_csv(3), "columns": 12, "rows": 24}, headers=tenant.auth()
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "columns"
    assert "at least 15" in r.json()["detail"]
    assert counts(ctr, tenant.workspace_id) == (0, 0, 0)


def test_upload_letter_paper_and_jobs_are_scoped(
    client: TestClient, ctr: Container, tenant: Tenant, other: Tenant
) -> None:
    r = client.post(
        "/api/v1/bulk/upload",
        files={"file": ("p.csv", placements_csv(5).encode(), "text/csv")},
        data={"paper": "Letter", "columns": "2", "rows": "3", "formats": "svg,png,pdf"},
        headers=tenant.auth(Role.EDITOR),
    )
    assert r.status_code == 202, r.text
    job = wait_job(client, tenant, r.json()["job"]["id"])
    assert job["status"] == "succeeded", job
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=other.auth()).status_code == 404
    assert client.get(job["downloads"]["pdf"], headers=other.auth()).status_code == 404
    pdf = client.get(job["downloads"]["pdf"], headers=tenant.auth()).content
    pages = pdf_pages(pdf, scale=3.0)
    assert len(pages) == 1
    assert pages[0].size == (612 * 3, 792 * 3)
    with zipfile.ZipFile(
        io.BytesIO(client.get(job["downloads"]["zip"], headers=tenant.auth()).content)
    ) as zf:
        assert len([n for n in zf.namelist() if n.endswith(".pdf")]) == 5
    viewer = client.post("/api/v1/bulk", json={"csv": placements_csv(2)}, headers=tenant.auth(Role.VIEWER))
    assert viewer.status_code == 403


def test_a_render_failure_fails_the_job_and_keeps_the_codes(
    client: TestClient, ctr: Container, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scanroute.services.printrun as printrun

    def broken(*_: Any, **__: Any) -> dict[str, Any]:
        raise OSError("disk full")

    monkeypatch.setattr(printrun, "render_run", broken)
    r = client.post("/api/v1/bulk", json={"csv": placements_csv(4)}, headers=tenant.auth())
    job = wait_job(client, tenant, r.json()["job"]["id"])
    assert job["status"] == "failed"
    assert job["error"] == "disk full"
    assert job["downloads"] == {}
    assert client.get(f"/api/v1/jobs/{job['id']}/download?file=zip", headers=tenant.auth()).status_code == 404
    assert counts(ctr, tenant.workspace_id)[0] == 4  # the codes stay, usable
    monkeypatch.undo()
    slugs = [c["slug"] for c in r.json()["codes"]]
    again = client.post("/api/v1/bulk/render", json={"slugs": slugs}, headers=tenant.auth())
    assert again.status_code == 202
    assert wait_job(client, tenant, again.json()["id"])["status"] == "succeeded"


def test_a_running_job_whose_server_stopped_is_reported_interrupted(
    ctr: Container, client: TestClient, tenant: Tenant
) -> None:
    from scanroute.services.common import utcnow

    old = utcnow() - timedelta(minutes=30)
    with ctr.db.write() as conn:
        ident = job_table.insert(
            conn,
            {
                "workspace_id": tenant.workspace_id,
                "kind": "print_run",
                "status": "running",
                "params": {},
                "created_at": old,
                "updated_at": old,
            },
        )
    job = client.get(f"/api/v1/jobs/{ident}", headers=tenant.auth()).json()
    assert job["status"] == "failed"
    assert job["error"].startswith("interrupted")


def test_cli_bulk_create_writes_zip_and_pdf_and_refuses_bad_rows(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from scanroute.cli.main import app

    monkeypatch.setenv("SCANROUTE_DATABASE_URL", db_url)
    monkeypatch.setenv("SCANROUTE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SCANROUTE_BASE_URL", "https://qr.example")
    good = tmp_path / "run.csv"
    good.write_text(placements_csv(30), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        app, ["bulk", "create", "--csv", str(good), "--columns", "4", "--rows", "6", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    import json

    summary = json.loads(result.stdout)
    assert summary["created"] == 30
    assert summary["not_decoding"] == []
    assert "rendering ZIP + labels" in result.stderr
    with zipfile.ZipFile(tmp_path / "run-codes.zip") as zf:
        assert len([n for n in zf.namelist() if n.endswith(".png")]) == 30
    pages = pdf_pages((tmp_path / "run-labels.pdf").read_bytes(), scale=3.0)
    assert len(pages) == 2  # 24 per page
    assert sorted(t for p in pages for t in decode(p)) == sorted(
        f"https://qr.example/{s}" for s in summary["slugs"]
    )

    bad = tmp_path / "bad.csv"
    bad.write_text(placements_csv(10, bad_row=4), encoding="utf-8")
    result = runner.invoke(app, ["bulk", "create", "--csv", str(bad)])
    assert result.exit_code == 1
    assert "row 4 (line 5): destination" in result.stderr
    assert not (tmp_path / "bad-codes.zip").exists()
    listed = runner.invoke(app, ["codes", "list", "--json"])
    assert len(json.loads(listed.stdout)) == 30


def test_the_zip_does_not_wait_for_a_dead_sheet_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scanroute.services.bulk_render as bulk_render
    from scanroute.qr import QrDesign

    items = [
        bulk_render.RenderItem(
            i, f"s{i}", f"https://q.example/s{i}", f"https://q.example/s{i}", QrDesign(), None, ""
        )
        for i in range(3)
    ]
    monkeypatch.setattr(bulk_render.sys, "executable", "/bin/false")  # the child dies at once
    with pytest.raises(RuntimeError, match="the label sheet failed: exit status 1"):
        bulk_render.render_run(items, tmp_path, parallel=True)
    with zipfile.ZipFile(tmp_path / "codes.zip") as zf:  # encoded by the parent instead
        assert decode_png(zf.read("s0.png")) == ["https://q.example/s0"]
    assert not (tmp_path / "labels.pdf").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["codes.zip"]  # no temporary files left
