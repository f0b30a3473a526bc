"""Access-log lines never carry query-string secrets (the signed Exotel callback ``sig``)."""

from __future__ import annotations

import logging

from reference_app.observability import QueryRedactingFilter, redacted_access_log

UVICORN_FORMAT = '%s - "%s %s HTTP/%s" %d'


def _record(target: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, UVICORN_FORMAT,
        ("127.0.0.1:5000", "POST", target, "1.1", 200), None,
    )  # fmt: skip


def test_query_values_are_filtered_and_names_kept() -> None:
    record = _record("/api/webhooks/exotel/status-callback?call_id=c-1&sig=s3cr3t-SIG")
    assert QueryRedactingFilter().filter(record) is True
    line = record.getMessage()
    assert "s3cr3t-SIG" not in line
    assert "c-1" not in line
    assert "/api/webhooks/exotel/status-callback?call_id=" in line
    assert "sig=" in line
    assert line.endswith('HTTP/1.1" 200')


def test_lines_without_a_query_or_of_another_shape_pass_unchanged() -> None:
    plain = _record("/api/monitoring/health")
    QueryRedactingFilter().filter(plain)
    assert plain.getMessage() == '127.0.0.1:5000 - "POST /api/monitoring/health HTTP/1.1" 200'
    other = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("?a=b",), None)
    QueryRedactingFilter().filter(other)
    assert other.getMessage() == "hello ?a=b"


def test_filter_is_installed_for_the_block_only() -> None:
    logger = logging.getLogger("uvicorn.access")
    before = list(logger.filters)
    with redacted_access_log() as installed:
        assert installed in logger.filters
    assert logger.filters == before
