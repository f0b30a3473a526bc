"""A retry loop of the app's own, as many are written: no library, a sleep between attempts."""

from __future__ import annotations

import asyncio

import httpx

QUOTES = "https://quotes.example.com"


async def fetch_quote(client: httpx.AsyncClient, attempts: int = 4) -> httpx.Response:
    for attempt in range(attempts):
        response = await client.get(f"{QUOTES}/quote")
        if response.status_code < 500 or attempt == attempts - 1:
            break
        await asyncio.sleep(2**attempt)  # 1, 2, 4 s between attempts
    return response
