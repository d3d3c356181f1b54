"""A key's daily checks as a server-rendered SVG bar chart: no JavaScript, no stylesheet.

The chart draws in a fixed viewBox and scales to its container's width; its text is sized
so that it stays readable on a 360 px wide phone. Bars use `currentColor`, so the chart
takes the text colour of the page around it (dark mode and print included).
"""

from __future__ import annotations

from markupsafe import Markup

from keyvend.schemas.usage import DayUsage

WIDTH, HEIGHT = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 14, 34  # room for the axis labels
FONT = 20  # in viewBox units: 12 px at 360 px wide
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
BASELINE = TOP + PLOT_H


def usage_chart(daily: list[DayUsage]) -> Markup:
    """An SVG bar chart of `daily` (oldest first): one bar per day, each with a tooltip
    title of its date and checks, and an accessible name with the total. Every value goes
    through `Markup.format`, which escapes it."""
    label = _summary(daily)
    peak = max((day.total for day in daily), default=0)
    head = Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%"'
        ' role="img" aria-label="{label}" font-size="{font}" class="usage-chart">'
        "<title>{label}</title>"
    ).format(w=WIDTH, h=HEIGHT, label=label, font=FONT)
    bars = Markup("").join(_bar(i, len(daily), day, peak) for i, day in enumerate(daily))
    return head + _axes(daily, peak) + Markup('<g fill="currentColor">{}</g></svg>').format(bars)


def _summary(daily: list[DayUsage]) -> str:
    total = sum(day.total for day in daily)
    if not daily:
        return "No checks"
    first, last = daily[0].date.isoformat(), daily[-1].date.isoformat()
    return f"{_checks(total)} in {len(daily)} days, {first} to {last}"


def _checks(count: int) -> str:
    return f"{count:,} check" if count == 1 else f"{count:,} checks"


def _axes(daily: list[DayUsage], peak: int) -> Markup:
    """The baseline and top line with their values, and the first and last dates."""
    lines = Markup(
        '<g stroke="currentColor" stroke-opacity="0.3" stroke-width="1">'
        '<line x1="{left}" y1="{top}" x2="{right}" y2="{top}"/>'
        '<line x1="{left}" y1="{base}" x2="{right}" y2="{base}"/></g>'
        '<g fill="currentColor" text-anchor="end">'
        '<text x="{label_x}" y="{top_y:.1f}">{peak}</text>'
        '<text x="{label_x}" y="{base_y:.1f}">0</text></g>'
    ).format(
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        base=BASELINE,
        label_x=LEFT - 8,
        top_y=TOP + FONT * 0.35,
        base_y=BASELINE + FONT * 0.35,
        peak=f"{peak:,}",
    )
    if not daily:
        return lines
    return lines + Markup(
        '<g fill="currentColor"><text x="{left}" y="{y}" text-anchor="start">{first}</text>'
        '<text x="{right}" y="{y}" text-anchor="end">{last}</text></g>'
    ).format(
        left=LEFT,
        right=WIDTH - RIGHT,
        y=HEIGHT - 8,
        first=daily[0].date.isoformat(),
        last=daily[-1].date.isoformat(),
    )


def _bar(index: int, days: int, day: DayUsage, peak: int) -> Markup:
    """One day's bar; a day without checks is a bar of no height (its title still shows)."""
    slot = PLOT_W / days
    height = PLOT_H * day.total / peak if peak else 0.0
    if day.total and height < 1:
        height = 1.0  # a day with checks never looks empty
    return Markup(
        '<rect class="usage-day" x="{x:.2f}" y="{y:.2f}" width="{width:.2f}"'
        ' height="{height:.2f}"><title>{title}</title></rect>'
    ).format(
        x=LEFT + index * slot + slot * 0.1,
        y=BASELINE - height,
        width=max(slot * 0.8, 1),
        height=height,
        title=f"{day.date.isoformat()}: {_checks(day.total)}{_breakdown(day)}",
    )


def _breakdown(day: DayUsage) -> str:
    """` (VALID 10, NOT_FOUND 2)`: the day's outcomes, when there are any."""
    parts = [f"{outcome} {count:,}" for outcome, count in day.outcomes.items() if count]
    return f" ({', '.join(parts)})" if parts else ""
