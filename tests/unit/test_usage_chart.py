"""The usage chart: well-formed SVG, one titled bar per day, everything escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from markupsafe import Markup

from keyvend.schemas.usage import DayUsage
from keyvend.web.usage_chart import usage_chart

SVG = "{http://www.w3.org/2000/svg}"


def days(*totals: int, outcomes: dict[str, int] | None = None) -> list[DayUsage]:
    first = date(2026, 1, 1)
    return [
        DayUsage(
            date=first + timedelta(days=i),
            total=total,
            outcomes=outcomes if outcomes is not None else ({"VALID": total} if total else {}),
        )
        for i, total in enumerate(totals)
    ]


def parse(chart: Markup) -> ET.Element:
    return ET.fromstring(str(chart))  # noqa: S314 (our own output, not untrusted input)


def bars(root: ET.Element) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "usage-day"]


def test_the_chart_is_well_formed_svg_that_scales_and_names_its_total() -> None:
    chart = usage_chart(days(3, 0, 7))
    assert isinstance(chart, Markup)
    root = parse(chart)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 600 220" and root.get("width") == "100%"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "10 checks in 3 days, 2026-01-01 to 2026-01-03"
    assert root.find(f"{SVG}title").text == root.get("aria-label")  # type: ignore[union-attr]
    assert "<script" not in str(chart) and "on" + "load" not in str(chart)


def test_there_is_one_bar_per_day_with_its_date_and_count_as_title() -> None:
    root = parse(usage_chart(days(*range(30))))
    found = bars(root)
    assert len(found) == 30
    titles = [bar.find(f"{SVG}title").text for bar in found]  # type: ignore[union-attr]
    assert titles[0] == "2026-01-01: 0 checks"
    assert titles[1] == "2026-01-02: 1 check (VALID 1)"
    assert titles[29] == "2026-01-30: 29 checks (VALID 29)"
    xs = [float(bar.get("x", "")) for bar in found]
    assert xs == sorted(xs), "oldest day on the left"


def test_the_tallest_bar_is_the_busiest_day_and_heights_are_proportional() -> None:
    found = bars(parse(usage_chart(days(5, 10, 0))))
    heights = [float(bar.get("height", "")) for bar in found]
    assert heights[1] == max(heights)
    assert abs(heights[0] * 2 - heights[1]) < 0.02
    assert heights[2] == 0


def test_a_day_with_few_checks_beside_a_busy_one_still_shows_a_bar() -> None:
    found = bars(parse(usage_chart(days(1, 1_000_000))))
    assert float(found[0].get("height", "")) >= 1


def test_all_zero_days_draw_empty_bars_without_dividing_by_zero() -> None:
    root = parse(usage_chart(days(0, 0, 0, 0)))
    found = bars(root)
    assert len(found) == 4
    assert {bar.get("height") for bar in found} == {"0.00"}
    assert root.get("aria-label", "").startswith("0 checks in 4 days")


def test_outcome_names_are_escaped_in_titles() -> None:
    hostile = {'<script>alert("x")</script>&': 2}
    chart = usage_chart(days(2, outcomes=hostile))
    assert "<script>" not in str(chart)
    title = bars(parse(chart))[0].find(f"{SVG}title")
    assert title is not None and title.text == f"2026-01-01: 2 checks ({next(iter(hostile))} 2)"


def test_large_counts_are_written_with_thousands_separators() -> None:
    root = parse(usage_chart(days(1234567)))
    assert root.get("aria-label", "").startswith("1,234,567 checks")
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert "1,234,567" in labels and "0" in labels and "2026-01-01" in labels


def test_no_days_give_an_empty_chart_not_an_error() -> None:
    root = parse(usage_chart([]))
    assert bars(root) == [] and root.get("aria-label") == "No checks"
