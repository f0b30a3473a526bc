"""Retry loops whose sleeps are held under other names, as libraries often hold them."""

from __future__ import annotations

import time as _time
from asyncio import sleep as pause

import httpx

URL = "https://api.example.com/orders"


def fetch_sync() -> httpx.Response:
    for delay in (0.0, 1.0, 2.0):
        if delay:
            _time.sleep(delay)
        response = httpx.get(URL)
        if response.status_code < 500:
            break
    return response


async def fetch_async() -> httpx.Response:
    async with httpx.AsyncClient() as client:
        for delay in (0.0, 3.0, 6.0):
            if delay:
                await pause(delay)
            response = await client.get(URL)
            if response.status_code < 500:
                break
    return response
