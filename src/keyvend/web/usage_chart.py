"""A key's daily checks as a server-rendered SVG bar chart: no JavaScript, no stylesheet.

The chart draws in a fixed viewBox and scales to its container's width; its text is sized
so that it stays readable on a 360 px wide phone. Bars use `currentColor`, so the chart
takes the text colour of the page around it (dark mode and print included).
"""

from __future__ import annotations

from markupsafe import Markup, escape

from keyvend.schemas.usage import DayUsage

WIDTH, HEIGHT = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 14, 34  # room for the axis labels
FONT = 20  # in viewBox units: 12 px at 360 px wide
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
BASELINE = TOP + PLOT_H


def usage_chart(daily: list[DayUsage]) -> Markup:
    """An SVG bar chart of `daily` (oldest first): one bar per day, each with a tooltip
    title of its date and checks, and an accessible name with the total."""
    label = _summary(daily)
    peak = max((day.total for day in daily), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%"'
        f' role="img" aria-label="{escape(label)}" font-size="{FONT}" class="usage-chart">',
        f"<title>{escape(label)}</title>",
        *_axes(daily, peak),
        '<g fill="currentColor">',
        *(_bar(i, len(daily), day, peak) for i, day in enumerate(daily)),
        "</g></svg>",
    ]
    return Markup("".join(parts))


def _summary(daily: list[DayUsage]) -> str:
    total = sum(day.total for day in daily)
    if not daily:
        return "No checks"
    first, last = daily[0].date.isoformat(), daily[-1].date.isoformat()
    return f"{_checks(total)} in {len(daily)} days, {first} to {last}"


def _checks(count: int) -> str:
    return f"{count:,} check" if count == 1 else f"{count:,} checks"


def _axes(daily: list[DayUsage], peak: int) -> list[str]:
    """The baseline and top line with their values, and the first and last dates."""
    lines = [
        f'<g stroke="currentColor" stroke-opacity="0.3" stroke-width="1">'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}"/>'
        f'<line x1="{LEFT}" y1="{BASELINE}" x2="{WIDTH - RIGHT}" y2="{BASELINE}"/></g>',
        f'<g fill="currentColor" text-anchor="end">'
        f'<text x="{LEFT - 8}" y="{TOP + FONT * 0.35:.1f}">{escape(f"{peak:,}")}</text>'
        f'<text x="{LEFT - 8}" y="{BASELINE + FONT * 0.35:.1f}">0</text></g>',
    ]
    if daily:
        y = HEIGHT - 8
        first, last = escape(daily[0].date.isoformat()), escape(daily[-1].date.isoformat())
        lines.append(
            f'<g fill="currentColor"><text x="{LEFT}" y="{y}" text-anchor="start">{first}</text>'
            f'<text x="{WIDTH - RIGHT}" y="{y}" text-anchor="end">{last}</text></g>'
        )
    return lines


def _bar(index: int, days: int, day: DayUsage, peak: int) -> str:
    """One day's bar; a day without checks is a bar of no height (its title still shows)."""
    slot = PLOT_W / days
    height = PLOT_H * day.total / peak if peak else 0.0
    if day.total and height < 1:
        height = 1.0  # a day with checks never looks empty
    x = LEFT + index * slot + slot * 0.1
    title = f"{day.date.isoformat()}: {_checks(day.total)}{_breakdown(day)}"
    return (
        f'<rect class="usage-day" x="{x:.2f}" y="{BASELINE - height:.2f}"'
        f' width="{max(slot * 0.8, 1):.2f}" height="{height:.2f}">'
        f"<title>{escape(title)}</title></rect>"
    )


def _breakdown(day: DayUsage) -> str:
    """` (VALID 10, NOT_FOUND 2)`: the day's outcomes, when there are any."""
    parts = [f"{outcome} {count:,}" for outcome, count in day.outcomes.items() if count]
    return f" ({', '.join(parts)})" if parts else ""
