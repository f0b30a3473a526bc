"""Retry loops that import ``time`` and ``asyncio`` inside themselves (to keep the module's
import light), as a trial's app did: no name of the module holds a sleep."""

from __future__ import annotations

import httpx

URL = "https://api.example.com/orders"


def fetch_sync() -> httpx.Response:
    for delay in (0.0, 1.0, 2.0):
        if delay:
            import time

            time.sleep(delay)
        response = httpx.get(URL)
        if response.status_code < 500:
            break
    return response


async def fetch_async() -> httpx.Response:
    async with httpx.AsyncClient() as client:
        for delay in (0.0, 3.0, 6.0):
            if delay:
                from asyncio import sleep

                await sleep(delay)
            response = await client.get(URL)
            if response.status_code < 500:
                break
    return response
