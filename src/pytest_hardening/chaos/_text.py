"""Terminal rendering of scenario results (rich renderables and plain timeline lines)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from pytest_hardening.chaos._result import ScenarioResult
from pytest_hardening.chaos._timeline import Timeline, change_times, seconds, status_summary

STATE_STYLES = {"CLOSED": "green", "OPEN": "red", "HALF_OPEN": "yellow"}


def breaker_text(timeline: Timeline, breaker: str) -> Text:
    """The same line as :func:`breaker_line`, states coloured, then when each change happened."""
    text = Text(breaker, style="bold")
    text.append(" ")
    initial = timeline.initial.get(breaker, "CLOSED")
    text.append(initial, style=STATE_STYLES.get(initial, ""))
    changes = timeline.transitions(breaker)
    for change in changes:
        text.append(f" ─{change.label}→ ", style="dim")
        text.append(change.to_state, style=STATE_STYLES.get(change.to_state, ""))
    if changes:
        text.append(f"   {change_times(timeline, breaker)}", style="dim")
    return text


def render_result(result: ScenarioResult) -> Group:
    """Per scenario: verdict, breaker timelines, requests by status, data-loss check."""
    verdict = Text("PASS", style="bold green") if result.passed else Text("FAIL", style="bold red")
    head = Text.assemble(
        verdict,
        " ",
        (result.name, "bold"),
        (f"  {seconds(result.timeline.end)} virtual, {result.wall_seconds:.2f}s wall", "dim"),
    )
    rows: list[Text | Table] = [head]
    if result.description:
        rows.append(Text(f"  {result.description}", style="italic"))
    changed = result.timeline.changed_breakers()
    for name in changed:
        rows.append(Text.assemble("  ", breaker_text(result.timeline, name)))
    if not changed:
        rows.append(Text("  no breaker changed state", style="dim"))
    rows.append(Text(f"  requests by status: {status_summary(result.timeline)}"))
    if result.data_loss is not None:
        loss = result.data_loss
        mark = ("ok", "green") if loss.passed else (f"{len(loss.lost)} LOST", "bold red")
        rows.append(
            Text.assemble(
                "  no data lost: ",
                (mark[0], mark[1]),
                f" ({loss.checked} checked; ",
                loss.description,
                ")",
            )
        )
        rows.extend(Text(f"    lost: {item}", style="red") for item in loss.lost)
    # A failure's own lines (a list of requests, what to declare) under its first, not at 0.
    rows.extend(Text("  ✗ " + f.replace("\n", "\n    "), style="red") for f in result.failures)
    if not result.passed:
        if result.logs:
            rows.append(Text(f"  last app log lines (of {len(result.logs)}):", style="dim"))
            rows.extend(Text(f"    {line}", style="dim") for line in result.logs[-8:])
        rows.append(Text(f"  replay with: {result.replay_command()}"))
    return Group(*rows)


def summary_table(results: list[ScenarioResult]) -> Table:
    table = Table(title="chaos scenarios", show_lines=False)
    widest = max((len(r.name) for r in results), default=8)
    table.add_column("scenario", no_wrap=True, min_width=widest)
    table.add_column("result")
    table.add_column("virtual", justify="right")
    table.add_column("wall", justify="right")
    table.add_column("requests by status")
    table.add_column("data")
    for r in results:
        table.add_row(
            r.name,
            Text("PASS", style="green") if r.passed else Text("FAIL", style="bold red"),
            seconds(r.timeline.end),
            f"{r.wall_seconds:.2f}s",
            status_summary(r.timeline),
            "-" if r.data_loss is None else ("ok" if r.data_loss.passed else "LOST"),
        )
    return table
