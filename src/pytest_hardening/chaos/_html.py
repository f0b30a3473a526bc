"""A self-contained HTML report: one SVG timeline per scenario, inline CSS, no fetches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from pytest_hardening.chaos._result import ScenarioResult
from pytest_hardening.chaos._timeline import Band, Timeline, breaker_line, seconds, status_summary

STATE_COLOURS = {"CLOSED": "#2e7d32", "OPEN": "#c62828", "HALF_OPEN": "#f9a825"}
UNKNOWN_COLOUR = "#757575"

_LABEL_W = 110
_PLOT_W = 760
_SLOT_W = 6.0  # px per mark
_ROW_H = 24
_GAP = 8
_AXIS_H = 24

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #212121; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-bottom: .2rem; }
section { border-top: 1px solid #ddd; padding: .8rem 0; }
.pass { color: #2e7d32; font-weight: 600; } .fail { color: #c62828; font-weight: 600; }
.legend span { display: inline-block; margin-right: 1rem; }
.swatch { display: inline-block; width: .9rem; height: .9rem; vertical-align: middle;
  margin-right: .3rem; }
pre { background: #f5f5f5; padding: .4rem .6rem; overflow-x: auto; }
svg text { font: 11px system-ui, sans-serif; }
ul.failures { color: #c62828; }
"""


@dataclass
class _Layout:
    """x position of every mark, and labelled instants for the axis.

    Virtual time jumps: a whole outage can open a breaker at t=0 and close it at t=60, with
    a dozen requests at each of those instants. Each mark therefore gets a slot of its own, in
    the order it happened, and the time between instants gets the rest of the width in
    proportion, so a cycle is visible at a glance even when its steps share an instant.
    """

    x_of: dict[int, float] = field(default_factory=dict)
    end_x: float = float(_LABEL_W)
    ticks: list[tuple[float, float]] = field(default_factory=list)


def _layout(timeline: Timeline) -> _Layout:
    marks = sorted(
        [(c.seq, c.at) for c in timeline.changes]
        + [(f.seq, f.at) for f in timeline.faults]
        + [(r.seq, r.at) for r in timeline.requests]
    )
    duration = max([timeline.end, *(at for _, at in marks)], default=0.0)
    slots = len(marks) + 1
    step = min(_SLOT_W, _PLOT_W * 0.5 / slots) if duration > 0 else _PLOT_W / slots
    scale = (_PLOT_W - step * slots) / duration if duration > 0 else 0.0
    layout = _Layout(ticks=[(float(_LABEL_W), 0.0)])
    x, now = _LABEL_W + step / 2, 0.0
    for seq, at in marks:
        if at > now:
            x += (at - now) * scale
            layout.ticks.append((x, at))
            now = at
        layout.x_of[seq] = x
        x += step
    layout.end_x = x + max(duration - now, 0.0) * scale
    if duration > now:
        layout.ticks.append((layout.end_x, duration))
    return layout


def _status_colour(status: int) -> str:
    if status == 202:  # accepted but degraded (e.g. queued): worth telling apart at a glance
        return "#0277bd"
    if status < 400:
        return "#2e7d32"
    if status < 500:
        return "#ef6c00"
    return "#c62828"


def _bands(timeline: Timeline, name: str, layout: _Layout) -> list[tuple[float, float, Band]]:
    state, start_x, start_at = timeline.initial.get(name, "CLOSED"), float(_LABEL_W), 0.0
    out: list[tuple[float, float, Band]] = []
    for change in timeline.transitions(name):
        x = layout.x_of.get(change.seq, start_x)
        if x > start_x:
            out.append((start_x, x, Band(start_at, change.at, state)))
        state, start_x, start_at = change.to_state, x, change.at
    out.append((start_x, max(layout.end_x, start_x + 2), Band(start_at, timeline.end, state)))
    return out


def timeline_svg(timeline: Timeline) -> str:
    """Breakers as horizontal bands coloured by state; faults and requests marked below."""
    names = timeline.breakers
    layout = _layout(timeline)
    rows = len(names) + 2  # + faults row + requests row
    height = rows * (_ROW_H + _GAP) + _AXIS_H
    width = _LABEL_W + _PLOT_W + 40
    out = [
        f'<svg class="timeline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]
    for row, name in enumerate(names):
        y = row * (_ROW_H + _GAP)
        out.append(f'<text x="0" y="{y + 16}">{escape(name)}</text>')
        for x0, x1, band in _bands(timeline, name, layout):
            colour = STATE_COLOURS.get(band.state, UNKNOWN_COLOUR)
            out.append(
                f'<rect class="band state-{escape(band.state)}" data-breaker="{escape(name)}" '
                f'x="{x0:.1f}" y="{y}" width="{x1 - x0:.1f}" height="{_ROW_H}" '
                f'fill="{colour}"><title>{escape(name)} {escape(band.state)} '
                f"{seconds(band.start)}–{seconds(band.end)}</title></rect>"
            )
    y = len(names) * (_ROW_H + _GAP)
    out.append(f'<text x="0" y="{y + 16}">faults</text>')
    for fault in timeline.faults:
        x = layout.x_of[fault.seq]
        label = escape(f"{seconds(fault.at)} {fault.provider}: {fault.action}")
        out.append(
            f'<path class="fault" d="M{x:.1f} {y + 2} l6 10 l-6 10 l-6 -10 z" fill="#6a1b9a">'
            f"<title>{label}</title></path>"
        )
    y += _ROW_H + _GAP
    out.append(f'<text x="0" y="{y + 16}">requests</text>')
    for req in timeline.requests:
        x = layout.x_of[req.seq]
        request_id = f" (request {req.request_id})" if req.request_id else ""
        cut = ", its body cut part-way" if req.cut else ""
        label = escape(f"{seconds(req.at)} {req.method} {req.path} → {req.status}{cut}{request_id}")
        out.append(
            f'<line class="request status-{req.status}" x1="{x:.1f}" y1="{y + 2}" '
            f'x2="{x:.1f}" y2="{y + _ROW_H - 2}" stroke="{_status_colour(req.status)}" '
            f'stroke-width="2"><title>{label}</title></line>'
        )
    y += _ROW_H + _GAP
    out.append(
        f'<line x1="{_LABEL_W}" y1="{y}" x2="{layout.end_x:.1f}" y2="{y}" stroke="#9e9e9e"/>'
    )
    last_label = -1e9
    for x, at in layout.ticks:
        out.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#9e9e9e"/>')
        if x - last_label >= 36:
            out.append(f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle">{seconds(at)}</text>')
            last_label = x
    out.append("</svg>")
    return "".join(out)


def _section(result: ScenarioResult) -> str:
    verdict = (
        '<span class="pass">PASS</span>' if result.passed else '<span class="fail">FAIL</span>'
    )
    parts = [
        f'<section class="scenario" id="{escape(result.name)}">',
        f"<h2>{verdict} {escape(result.name)}</h2>",
        f"<p>{escape(result.description)}</p>",
        timeline_svg(result.timeline),
        "<pre>"
        + "\n".join(escape(breaker_line(result.timeline, n)) for n in result.timeline.breakers)
        + "</pre>",
        f"<p>Requests by status: {escape(status_summary(result.timeline))}. "
        f"Virtual time {seconds(result.timeline.end)}, wall {result.wall_seconds:.2f}s, "
        f"seed {result.seed}.</p>",
        f"<p>Replay with: <code>{escape(result.replay_command())}</code></p>",
    ]
    if result.data_loss is not None:
        loss = result.data_loss
        state = "ok" if loss.passed else f"{len(loss.lost)} lost"
        parts.append(
            f"<p>No data lost — {escape(loss.description)}: <b>{escape(state)}</b> "
            f"({loss.checked} checked)</p>"
        )
        if loss.lost:
            items = "".join(f"<li>{escape(i)}</li>" for i in loss.lost)
            parts.append(f'<ul class="failures">{items}</ul>')
    if result.failures:
        items = "".join(f"<li>{escape(f)}</li>" for f in result.failures)
        parts.append(f'<ul class="failures">{items}</ul>')
    parts.append("</section>")
    return "\n".join(parts)


def render_html(results: Sequence[ScenarioResult], *, title: str = "Chaos report") -> str:
    """The whole report as one string; nothing in it refers to the network."""
    passed = sum(r.passed for r in results)
    legend = "".join(
        f'<span><i class="swatch" style="background:{c}"></i>{s}</span>'
        for s, c in STATE_COLOURS.items()
    )
    body = "\n".join(_section(r) for r in results)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p>{passed} of {len(results)} scenarios passed. Time is virtual: the breakers' "
        "clocks were moved, nobody waited. Time runs left to right; marks that share an "
        "instant are spread out in the order they happened.</p>"
        f'<p class="legend">{legend}'
        "<span>◆ fault injected / healed</span><span>| request: "
        '<b style="color:#2e7d32">2xx</b> <b style="color:#0277bd">202 (degraded)</b> '
        '<b style="color:#ef6c00">4xx</b> <b style="color:#c62828">5xx</b></span></p>'
        f"{body}</body></html>\n"
    )
