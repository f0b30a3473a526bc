"""Timeline model and its text/HTML/JSON renderings."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from pytest_hardening.chaos import (
    DataLossCheck,
    ScenarioResult,
    Timeline,
    breaker_line,
    render_html,
)


def full_cycle() -> Timeline:
    tl = Timeline.starting({"exotel": "CLOSED", "openai": "CLOSED"})
    tl.fault(0, "exotel", "fail(503)")
    for _ in range(5):
        tl.request(0, "POST", "/api/calls", 202)
    tl.breaker_changed(0, "exotel", "CLOSED", "OPEN", "5 fails")
    tl.fault(0, "exotel", "heal")
    tl.breaker_changed(60, "exotel", "OPEN", "HALF_OPEN", "60s")
    tl.request(60, "POST", "/api/calls", 201)
    tl.request(60, "POST", "/api/calls", 201)
    tl.breaker_changed(60, "exotel", "HALF_OPEN", "CLOSED", "2 ok")
    tl.finish(75)
    return tl


def test_breaker_line_reads_like_the_cycle() -> None:
    tl = full_cycle()
    assert breaker_line(tl, "exotel") == (
        "exotel CLOSED ─5 fails→ OPEN ─60s→ HALF_OPEN ─2 ok→ CLOSED"
    )
    assert breaker_line(tl, "openai") == "openai CLOSED"


def test_transitions_without_a_reason_get_a_bare_arrow() -> None:
    tl = Timeline.starting({"payments": "CLOSED"})
    tl.breaker_changed(3, "payments", "CLOSED", "OPEN")
    assert breaker_line(tl, "payments") == "payments CLOSED ─→ OPEN"


def test_bands_cover_virtual_time_and_skip_zero_width_stays() -> None:
    tl = full_cycle()
    bands = [(b.start, b.end, b.state) for b in tl.bands("exotel")]
    assert bands == [(0, 60, "OPEN"), (60, 75, "CLOSED")]
    assert [(b.start, b.end, b.state) for b in tl.bands("openai")] == [(0, 75, "CLOSED")]
    assert tl.final_state("exotel") == "CLOSED"
    assert tl.requests_by_status() == {201: 2, 202: 5}
    assert tl.changed_breakers() == ["exotel"]


def result(passed: bool = True) -> ScenarioResult:
    res = ScenarioResult("exotel-outage", "Exotel hard down", 7, full_cycle())
    res.data_loss = DataLossCheck("every accepted call is retrievable", 7, () if passed else ("x",))
    if not passed:
        res.failures.append("breaker 'exotel': expected OPEN, is CLOSED")
    return res


def test_html_report_is_self_contained_with_a_band_per_state_stretch() -> None:
    html = render_html([result(), result(passed=False)])
    # nothing is fetched: no external src/href, no scripts, no stylesheets by link
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "<script" not in html
    assert "<link" not in html
    assert html.count('<section class="scenario"') == 2
    band = r'<rect class="band state-(\w+)" data-breaker="(\w+)"[^>]*fill="([^"]+)"'
    bands = re.findall(band, html)
    # per scenario the whole exotel cycle is visible, though it happened at two instants
    # (t=0 and t=60); openai stays closed all along
    assert [(state, breaker) for state, breaker, _ in bands[:5]] == [
        ("CLOSED", "exotel"),
        ("OPEN", "exotel"),
        ("HALF_OPEN", "exotel"),
        ("CLOSED", "exotel"),
        ("CLOSED", "openai"),
    ]
    # one colour per state, the same one in the legend and wherever the state appears
    colour = {state: fill for state, _, fill in bands}
    assert len(set(colour.values())) == 3
    assert all(fill == colour[state] for state, _, fill in bands)
    for state, fill in colour.items():
        assert f'style="background:{fill}"></i>{state}' in html
    assert html.count('class="fault"') == 4
    assert html.count('class="request status-202"') == 10
    assert "1 of 2 scenarios passed" in html
    assert "expected OPEN, is CLOSED" in html


def test_html_escapes_names_and_messages() -> None:
    res = result(passed=False)
    res.failures.append("<script>alert(1)</script>")
    html = render_html([res])
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


def test_json_form_round_trips_and_names_everything() -> None:
    data = json.loads(json.dumps(result(passed=False).to_dict()))
    assert data["passed"] is False
    assert data["requests_by_status"] == {"201": 2, "202": 5}
    assert [t["to"] for t in data["breakers"]["exotel"]["transitions"]] == [
        "OPEN",
        "HALF_OPEN",
        "CLOSED",
    ]
    assert data["data_loss"]["lost"] == ["x"]


def test_explain_teaches_expected_actual_history_and_replay() -> None:
    text = result(passed=False).explain()
    assert "expected OPEN, is CLOSED" in text
    assert "exotel CLOSED ─5 fails→ OPEN" in text
    assert "hardening chaos exotel-outage --seed 7" in text


def test_svg_bands_follow_each_other_and_the_axis_shows_virtual_seconds() -> None:
    svg = render_html([result()])
    rects = re.findall(r'data-breaker="exotel" x="([\d.]+)" y="\d+" width="([\d.]+)"', svg)
    spans = [(float(x), float(x) + float(w)) for x, w in rects]
    assert len(spans) == 4
    assert all(end > start for start, end in spans)
    assert all(a[1] == pytest.approx(b[0]) for a, b in itertools.pairwise(spans))
    # requests at the same instant get distinct x positions, in order
    xs = [float(x) for x in re.findall(r'class="request status-\d+" x1="([\d.]+)"', svg)]
    assert xs == sorted(xs)
    assert len(set(xs)) == len(xs)
    labels = re.findall(r'text-anchor="middle">([^<]+)</text>', svg)
    assert labels[0] == "0s"
    assert "60s" in labels


def test_times_in_one_report_share_one_precision() -> None:
    # A provider that answered after a 2.22397 s timeout moves everything after it off the
    # whole second: every time is printed to the millisecond, never in six significant digits
    # (which gave "2.22397s" beside "62.224s").
    tl = Timeline.starting({"openai": "CLOSED"})
    tl.request(2.22397, "POST", "/api/calls", 201)
    tl.breaker_changed(2.22397, "openai", "CLOSED", "OPEN", "5 fails")
    tl.breaker_changed(62.223971, "openai", "OPEN", "HALF_OPEN", "60s")
    tl.finish(262.2239712)
    html = render_html([ScenarioResult("openai-slow", "", 0, tl)])
    assert "2.224s" in html
    assert "62.224s" in html
    assert "Virtual time 262.224s" in html
    assert not re.search(r"\d\.\d{4,}s", html), re.findall(r"[\d.]+\d{4,}s", html)
