"""Attribution models, table by table: who gets how many parts per million, and the revenue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from scanroute.attribution import PPM, Model, Touch, credit, credit_value

CONVERTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LOOKBACK = timedelta(days=30)
DAY = timedelta(days=1)


def touch(scan_id: str, days_before: float, campaign: str | None = None) -> Touch:
    return Touch(scan_id=scan_id, at=CONVERTED - days_before * DAY, campaign_id=campaign)


def shares(model: Model, touches: list[Touch], **kwargs: timedelta) -> list[tuple[str, int]]:
    window = {"converted_at": CONVERTED, "lookback": LOOKBACK}
    result = credit(model, touches, **window, **kwargs)  # type: ignore[arg-type]
    return [(t.scan_id, ppm) for t, ppm in result]


# (journey as (scan id, days before the conversion), expected credit per model, oldest first)
THREE: list[tuple[str, float]] = [("a", 9), ("b", 5), ("c", 1)]
TABLE: list[tuple[str, list[tuple[str, float]], dict[Model, list[int]]]] = [
    (
        "single touch",
        [("a", 3)],
        {model: [PPM] for model in Model},
    ),
    (
        "two touches",
        [("a", 4), ("b", 2)],
        {
            Model.LAST: [0, PPM],
            Model.FIRST: [PPM, 0],
            Model.LINEAR: [500_000, 500_000],
            Model.POSITION: [500_000, 500_000],
        },
    ),
    (
        "three touches",
        THREE,
        {
            Model.LAST: [0, 0, PPM],
            Model.FIRST: [PPM, 0, 0],
            Model.LINEAR: [333_334, 333_333, 333_333],
            Model.POSITION: [400_000, 200_000, 400_000],
        },
    ),
    (
        "four touches",
        [("a", 9), ("b", 5), ("c", 3), ("d", 1)],
        {
            Model.LINEAR: [250_000] * 4,
            Model.POSITION: [400_000, 100_000, 100_000, 400_000],
        },
    ),
    (
        "five touches: the middle 20 % does not divide evenly",
        [("a", 9), ("b", 7), ("c", 5), ("d", 3), ("e", 1)],
        {
            Model.LINEAR: [200_000] * 5,
            Model.POSITION: [400_000, 66_667, 66_667, 66_666, 400_000],
        },
    ),
    (
        "seven touches",
        [(f"s{i}", 10 - i) for i in range(7)],
        {
            Model.LINEAR: [142_858, 142_857, 142_857, 142_857, 142_857, 142_857, 142_857],
            Model.POSITION: [400_000, 40_000, 40_000, 40_000, 40_000, 40_000, 400_000],
        },
    ),
    (
        "ties in time: ordered by scan id, not by input order",
        [("b", 2), ("a", 2), ("c", 2)],
        {
            Model.LAST: [0, 0, PPM],
            Model.FIRST: [PPM, 0, 0],
            Model.LINEAR: [333_334, 333_333, 333_333],
            Model.POSITION: [400_000, 200_000, 400_000],
            Model.TIME_DECAY: [333_334, 333_333, 333_333],
        },
    ),
    (
        "touches outside the lookback window are dropped",
        [("old", 31), ("edge", 30), ("b", 5), ("c", 1)],
        {
            Model.FIRST: [PPM, 0, 0],
            Model.LINEAR: [333_334, 333_333, 333_333],
            Model.POSITION: [400_000, 200_000, 400_000],
        },
    ),
    (
        "touches after the conversion are dropped",
        [("a", 9), ("b", 5), ("now", 0), ("later", -0.001), ("much later", -3)],
        {
            Model.LAST: [0, 0, PPM],
            Model.FIRST: [PPM, 0, 0],
            Model.POSITION: [400_000, 200_000, 400_000],
        },
    ),
    (
        "the same scan twice counts once",
        [("a", 9), ("b", 5), ("a", 9), ("c", 1), ("b", 5)],
        {
            Model.LINEAR: [333_334, 333_333, 333_333],
            Model.POSITION: [400_000, 200_000, 400_000],
        },
    ),
]


@pytest.mark.parametrize(
    ("journey", "model", "expected"),
    [
        pytest.param(journey, model, expected, id=f"{name}-{model}")
        for name, journey, by_model in TABLE
        for model, expected in by_model.items()
    ],
)
def test_credit_table(journey: list[tuple[str, float]], model: Model, expected: list[int]) -> None:
    touches = [touch(scan_id, days) for scan_id, days in journey]
    result = shares(model, touches)
    assert [ppm for _, ppm in result] == expected
    assert sum(expected) == PPM
    # the result lists the eligible touches once each, oldest first (ties by scan id)
    eligible = {(t.at, t.scan_id) for t in touches if CONVERTED - LOOKBACK <= t.at <= CONVERTED}
    assert [scan_id for scan_id, _ in result] == [scan_id for _, scan_id in sorted(eligible)]


@pytest.mark.parametrize("model", list(Model))
def test_conversion_before_any_scan_gets_no_credit(model: Model) -> None:
    assert shares(model, [touch("a", -1), touch("b", -2)]) == []
    assert shares(model, []) == []


@pytest.mark.parametrize("model", list(Model))
def test_only_touches_outside_the_window_give_no_credit(model: Model) -> None:
    assert shares(model, [touch("a", 45), touch("b", 31)]) == []


@pytest.mark.parametrize("model", list(Model))
def test_zero_lookback_keeps_only_a_touch_at_the_conversion(model: Model) -> None:
    touches = [touch("a", 1), touch("b", 0)]
    result = credit(model, touches, converted_at=CONVERTED, lookback=timedelta(0))
    assert [(t.scan_id, ppm) for t, ppm in result] == [("b", PPM)]


def test_issue_example_three_scans_two_campaigns_linear() -> None:
    """A customer with three scans across two campaigns and one purchase gets 1/3 each."""
    touches = [touch("s1", 6, "spring"), touch("s2", 4, "summer"), touch("s3", 2, "spring")]
    result = credit(Model.LINEAR, touches, converted_at=CONVERTED, lookback=LOOKBACK)
    assert [(t.scan_id, ppm) for t, ppm in result] == [
        ("s1", 333_334),
        ("s2", 333_333),
        ("s3", 333_333),
    ]
    by_campaign: dict[str | None, int] = {}
    for t, ppm in result:
        by_campaign[t.campaign_id] = by_campaign.get(t.campaign_id, 0) + ppm
    assert by_campaign == {"spring": 666_667, "summer": 333_333}
    # a $100.00 purchase split to the cent
    assert credit_value([ppm for _, ppm in result], 10_000) == [3_334, 3_333, 3_333]


@pytest.mark.parametrize(
    ("ages_in_days", "half_life_days"),
    [
        ([14, 7, 0], 7),
        ([10, 3.5, 1], 7),
        ([29, 20, 13.25, 0.5], 7),
        ([2, 1, 0], 1),
        ([6, 5.5, 5, 0], 30),
        ([1, 1, 0], 7),
    ],
)
def test_time_decay_matches_independent_computation(ages_in_days: list[float], half_life_days: float) -> None:
    touches = [touch(f"s{i}", age) for i, age in enumerate(ages_in_days)]
    result = credit(
        Model.TIME_DECAY,
        touches,
        converted_at=CONVERTED,
        lookback=LOOKBACK,
        half_life=half_life_days * DAY,
    )
    weights = [0.5 ** (age / half_life_days) for age in ages_in_days]
    expected = [PPM * w / sum(weights) for w in weights]
    got = [ppm for _, ppm in result]
    assert sum(got) == PPM
    assert all(abs(g - e) < 1 for g, e in zip(got, expected, strict=True)), (got, expected)


def test_time_decay_exact_halvings() -> None:
    # weights 1/4, 1/2, 1 -> 1/7, 2/7, 4/7 of a million; the unit left over goes to 4/7 (.571)
    touches = [touch("a", 14), touch("b", 7), touch("c", 0)]
    assert shares(Model.TIME_DECAY, touches) == [("a", 142_857), ("b", 285_714), ("c", 571_429)]


def test_time_decay_half_life_is_used() -> None:
    touches = [touch("a", 2), touch("b", 0)]
    # one half-life apart: 1/3 vs 2/3
    assert shares(Model.TIME_DECAY, touches, half_life=2 * DAY) == [("a", 333_333), ("b", 666_667)]
    # two half-lives apart: 1/5 vs 4/5
    assert shares(Model.TIME_DECAY, touches, half_life=DAY) == [("a", 200_000), ("b", 800_000)]


def test_time_decay_survives_touches_far_older_than_the_half_life() -> None:
    touches = [touch("a", 29), touch("b", 28)]
    result = credit(
        Model.TIME_DECAY,
        touches,
        converted_at=CONVERTED,
        lookback=LOOKBACK,
        half_life=timedelta(seconds=1),
    )
    assert [ppm for _, ppm in result] == [0, PPM]


def test_lookback_reaching_past_year_one_means_no_lower_bound() -> None:
    touches = [touch("ancient", 700_000), touch("b", 1)]
    result = credit(Model.LINEAR, touches, converted_at=CONVERTED, lookback=timedelta(days=999_999))
    assert [(t.scan_id, ppm) for t, ppm in result] == [("ancient", 500_000), ("b", 500_000)]


def test_time_zones_do_not_change_the_order() -> None:
    plus_two = timezone(timedelta(hours=2))
    early = Touch("z-early", datetime(2026, 3, 1, 10, 0, tzinfo=plus_two))  # 08:00 UTC
    late = Touch("a-late", datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    assert shares(Model.LAST, [late, early]) == [("z-early", 0), ("a-late", PPM)]


def test_same_instant_in_two_time_zones_is_the_same_touch() -> None:
    a = Touch("s1", datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
    b = Touch("s1", datetime(2026, 3, 1, 11, 0, tzinfo=timezone(timedelta(hours=1))))
    assert shares(Model.LINEAR, [a, b]) == [("s1", PPM)]


def test_conflicting_touches_for_one_scan_id_are_refused() -> None:
    with pytest.raises(ValueError, match="scan id"):
        credit(
            Model.LINEAR,
            [touch("a", 3), touch("a", 2)],
            converted_at=CONVERTED,
            lookback=LOOKBACK,
        )


def test_touch_carries_its_labels_through() -> None:
    t = Touch("s1", CONVERTED - DAY, code_id="c1", campaign_id="k1", placement_id="p1", creative="x")
    [(result_touch, ppm)] = credit(Model.FIRST, [t], converted_at=CONVERTED, lookback=LOOKBACK)
    assert result_touch is t
    assert ppm == PPM


@pytest.mark.parametrize(
    "kwargs",
    [
        {"converted_at": datetime(2026, 3, 1), "lookback": LOOKBACK},
        {"converted_at": CONVERTED, "lookback": -DAY},
        {"converted_at": CONVERTED, "lookback": LOOKBACK, "half_life": timedelta(0)},
    ],
)
def test_credit_refuses_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        credit(Model.LINEAR, [touch("a", 1)], **kwargs)  # type: ignore[arg-type]


def test_touch_refuses_naive_times_and_empty_scan_ids() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Touch("s1", datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="scan id"):
        Touch("", CONVERTED)


def test_model_values_are_the_public_names() -> None:
    assert [m.value for m in Model] == ["last", "first", "linear", "time_decay", "position"]
    assert Model("time_decay") is Model.TIME_DECAY


@pytest.mark.parametrize(
    ("credits", "value", "expected"),
    [
        ([333_334, 333_333, 333_333], 10_000, [3_334, 3_333, 3_333]),
        ([333_334, 333_333, 333_333], 1, [1, 0, 0]),
        ([333_334, 333_333, 333_333], 2, [1, 1, 0]),
        ([333_334, 333_333, 333_333], -10_000, [-3_334, -3_333, -3_333]),
        ([400_000, 200_000, 400_000], 1_999, [800, 400, 799]),
        ([0, 0, PPM], 4_250, [0, 0, 4_250]),
        ([142_857, 285_714, 571_429], 100, [14, 29, 57]),
        ([500_000, 500_000], 0, [0, 0]),
    ],
)
def test_credit_value_splits_to_the_cent(credits: list[int], value: int, expected: list[int]) -> None:
    assert credit_value(credits, value) == expected
    assert sum(expected) == value


def test_credit_value_refuses_nothing_to_split_over() -> None:
    with pytest.raises(ValueError):
        credit_value([], 100)
    with pytest.raises(ValueError):
        credit_value([0, 0], 100)
    with pytest.raises(ValueError):
        credit_value([-1, 1_000_001], 100)
    with pytest.raises(TypeError):
        credit_value([0.5, 0.5], 100)  # type: ignore[list-item]
