"""Sleeps in an app's threads, as apps and libraries make them: a back-off step, and a
library's background poller (aws-xray-sdk starts its sampling pollers on first use: daemon
threads that sleep their interval in a loop)."""

from __future__ import annotations

import asyncio
import threading
import time
from time import sleep  # bound at import, as kombu's retries are


def back_off(seconds: float) -> None:
    time.sleep(seconds)


def back_off_bound(seconds: float) -> None:
    """Through the ``sleep`` this module bound when imported, before any watch started."""
    sleep(seconds)


def start_poller(interval: float, polls: int) -> threading.Thread:
    def poll() -> None:
        for _ in range(polls):
            time.sleep(interval)

    thread = threading.Thread(target=poll, name="sampling-poller", daemon=True)
    thread.start()
    return thread


async def back_off_async(seconds: float) -> None:
    await asyncio.sleep(seconds)
