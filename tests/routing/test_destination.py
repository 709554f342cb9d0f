"""build_destination(), prepare()/finish() and merge_utm(): add parameters, never clobber."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanroute.redirect.route import MAX_PREPARED, Route
from scanroute.routing import build_destination, merge_utm
from scanroute.routing.destination import finish, prepare

UTM = {"source": "qr", "medium": "poster", "campaign": "spring sale"}


@pytest.mark.parametrize(
    ("url", "kwargs", "expected"),
    [
        (
            "https://example.com/p",
            {"utm": UTM, "scan_id": "S1"},
            "https://example.com/p?utm_source=qr&utm_medium=poster&utm_campaign=spring+sale&sr_sid=S1",
        ),
        (
            "https://example.com/p?utm_source=print&x=1#section-2",
            {"utm": UTM, "scan_id": "S1"},
            "https://example.com/p?utm_source=print&x=1&utm_medium=poster"
            "&utm_campaign=spring+sale&sr_sid=S1#section-2",
        ),
        (
            "https://example.com/p?",
            {"utm": {"source": "qr"}, "scan_id": None},
            "https://example.com/p?utm_source=qr",
        ),
        (
            "https://example.com/p?a=1&",
            {"utm": {"id": "7"}, "scan_id": None},
            "https://example.com/p?a=1&utm_id=7",
        ),
        # an encoded name counts as the parameter it decodes to
        (
            "https://example.com/?utm%5Fsource=x",
            {"utm": {"source": "qr"}, "scan_id": None},
            "https://example.com/?utm%5Fsource=x",
        ),
        # a fragment with a question mark stays a fragment
        (
            "https://example.com/#/route?tab=1",
            {"utm": {}, "scan_id": "S"},
            "https://example.com/?sr_sid=S#/route?tab=1",
        ),
        # existing sr_sid is kept and not repeated
        (
            "https://example.com/?sr_sid=OLD",
            {"utm": {}, "scan_id": "NEW"},
            "https://example.com/?sr_sid=OLD",
        ),
        # empty UTM values and unknown UTM keys are left out
        (
            "https://example.com/",
            {"utm": {"source": "", "colour": "red"}, "scan_id": None},
            "https://example.com/",
        ),
        # values are encoded
        (
            "https://example.com/",
            {"utm": {"term": "a&b=c/é"}, "scan_id": "a b"},
            "https://example.com/?utm_term=a%26b%3Dc%2F%C3%A9&sr_sid=a+b",
        ),
    ],
)
def test_build_destination(url: str, kwargs: dict, expected: str) -> None:  # type: ignore[type-arg]
    assert build_destination(url, **kwargs) == expected


def test_passthrough_and_extra_never_clobber() -> None:
    url = build_destination(
        "https://example.com/?keep=dest",
        utm={"source": "qr"},
        scan_id="S",
        passthrough={"keep": "scan", "utm_source": "evil", "sr_sid": "forged", "ref": "a", "": "x"},
        extra={"ref": "server", "lang": "de", "sr_sid": "no"},
    )
    assert parse_qsl(urlsplit(url).query, keep_blank_values=True) == [
        ("keep", "dest"),
        ("utm_source", "qr"),
        ("ref", "server"),
        ("lang", "de"),
        ("sr_sid", "S"),
    ]


def test_nothing_to_add_returns_the_url_unchanged() -> None:
    url = "https://example.com/a?b=c#d"
    assert build_destination(url, utm={}, scan_id=None, passthrough={}) is url


def test_merge_utm_code_overrides_campaign() -> None:
    campaign = {"source": "qr", "medium": "poster", "campaign": "spring", "term": "x", "bogus": "y"}
    code = {"medium": "flyer", "term": "", "content": "front"}
    assert merge_utm(campaign, code) == {
        "source": "qr",
        "medium": "flyer",
        "campaign": "spring",
        "content": "front",
    }
    assert merge_utm(None, None) == {}
    assert merge_utm({"source": ""}, {"id": "7"}) == {"id": "7"}


names = st.sampled_from(["sr_sid", "utm_source", "a"]) | st.text(
    st.characters(codec="utf-8"), min_size=1, max_size=8
)
values = st.text(st.characters(codec="utf-8"), max_size=12)


@given(
    existing=st.dictionaries(names, values, max_size=4),
    utm=st.dictionaries(st.sampled_from(["source", "medium", "campaign", "term", "content", "id"]), values),
    passthrough=st.dictionaries(names, values, max_size=4),
    scan_id=st.none() | st.text(st.characters(codec="utf-8"), min_size=1, max_size=10),
    fragment=st.sampled_from(["", "#top", "#/a?b=c&d"]),
)
def test_merged_query_keeps_existing_and_adds_each_name_once(
    existing: dict[str, str],
    utm: dict[str, str],
    passthrough: dict[str, str],
    scan_id: str | None,
    fragment: str,
) -> None:
    base = "https://example.com/p?" + urlencode(existing) if existing else "https://example.com/p"
    url = build_destination(base + fragment, utm=utm, scan_id=scan_id, passthrough=passthrough)
    assert url.endswith(fragment)
    query = url[: len(url) - len(fragment)].partition("?")[2]
    pairs = parse_qsl(query, keep_blank_values=True)
    got = dict(pairs)
    assert len(got) == len(pairs)  # no name twice
    for name, value in existing.items():
        assert got[name] == value
    for key, value in utm.items():
        if value and f"utm_{key}" not in existing:
            assert got[f"utm_{key}"] == value
    for name, value in passthrough.items():
        if name != "sr_sid" and name not in existing and not (name.startswith("utm_") and utm.get(name[4:])):
            assert got[name] == value
    assert got.get("sr_sid") == existing.get("sr_sid", scan_id)


def test_a_prepared_destination_serves_many_scans_each_with_its_own_id() -> None:
    prepared = prepare("https://example.com/menu?table=4#drinks", UTM)
    first = finish(prepared, "SID1")
    second = finish(prepared, "SID2", passthrough={"promo": "x"})
    assert (
        first
        == "https://example.com/menu?table=4&utm_source=qr&utm_medium=poster&utm_campaign=spring+sale&sr_sid=SID1#drinks"
    )
    assert (
        second
        == "https://example.com/menu?table=4&utm_source=qr&utm_medium=poster&utm_campaign=spring+sale&promo=x&sr_sid=SID2#drinks"
    )
    assert (
        finish(prepared, None)
        == "https://example.com/menu?table=4&utm_source=qr&utm_medium=poster&utm_campaign=spring+sale#drinks"
    )
    # what a UTM parameter took cannot be taken again by the visitor's own query
    assert "utm_source=evil" not in finish(prepared, None, passthrough={"utm_source": "evil"})


def _route(destination: str) -> Route:
    return Route.from_record(
        {
            "id": 7,
            "workspace_id": 1,
            "slug": "menu",
            "kind": "dynamic",
            "status": "active",
            "destination": destination,
            "rules": [],
            "utm": {"source": "qr", "campaign": "spring"},
        }
    )


def test_a_route_memoises_each_destination_and_bounds_the_memo() -> None:
    route = _route("https://example.com/a")
    first = route.destination("https://example.com/a")
    assert route.destination("https://example.com/a") is first
    assert finish(first, "S") == build_destination("https://example.com/a", utm=route.utm, scan_id="S")
    for n in range(MAX_PREPARED + 5):
        url = f"https://example.com/v{n}?x=1"
        assert finish(route.destination(url), "S") == build_destination(url, utm=route.utm, scan_id="S")
    assert len(route.prepared) <= MAX_PREPARED
