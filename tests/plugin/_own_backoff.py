"""An app's own retry loops, as many are written: no library, a sleep between attempts."""

from __future__ import annotations

import asyncio
import time
from asyncio import sleep
from collections.abc import Awaitable, Callable

import httpx

URL = "https://api.example.com/orders"
ATTEMPTS = 3


def fetch_sync() -> httpx.Response:
    for attempt in range(ATTEMPTS):
        response = httpx.get(URL)
        if response.status_code < 500 or attempt == ATTEMPTS - 1:
            break
        time.sleep(2**attempt)
    return response


async def fetch_async() -> httpx.Response:
    async with httpx.AsyncClient() as client:
        for attempt in range(ATTEMPTS):
            response = await client.get(URL)
            if response.status_code < 500 or attempt == ATTEMPTS - 1:
                break
            await asyncio.sleep(0)  # a checkpoint, not a back-off
            await asyncio.sleep(5 * 2**attempt)
    return response


async def fetch_with_imported_sleep() -> httpx.Response:
    async with httpx.AsyncClient() as client:
        for attempt in range(ATTEMPTS):
            response = await client.get(URL)
            if response.status_code < 500 or attempt == ATTEMPTS - 1:
                break
            await sleep(3)
    return response


class Fetcher:
    """The sleep injectable for tests through a default argument, bound when the ``def`` ran."""

    def __init__(self, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self._sleep = sleep

    async def fetch(self) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            for attempt in range(ATTEMPTS):
                response = await client.get(URL)
                if response.status_code < 500 or attempt == ATTEMPTS - 1:
                    break
                await self._sleep(0.4 * (attempt + 1))
        return response


def fetch_with_keyword_pause(*, pause: Callable[[float], None] = time.sleep) -> httpx.Response:
    for attempt in range(ATTEMPTS):
        response = httpx.get(URL)
        if response.status_code < 500 or attempt == ATTEMPTS - 1:
            break
        pause(7)
    return response
