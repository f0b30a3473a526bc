"""Response headers for personal data: never cached, never sniffed, https only in production.

``Cache-Control: no-store`` on every API response (calls carry masked phones, scripts and order
facts; a shared cache or the browser's must not keep them) and ``X-Content-Type-Options:
nosniff`` everywhere; in production also ``Strict-Transport-Security`` (browsers then never
downgrade to http).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HSTS", "SecurityHeadersMiddleware"]

#: Two years, subdomains included: the value hstspreload.org asks for.
HSTS = "max-age=63072000; includeSubDomains"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self._headers = [(b"x-content-type-options", b"nosniff")]
        if production:
            self._headers.append((b"strict-transport-security", HSTS.encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith("/api/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", ())}
                extra = [h for h in self._headers if h[0] not in present]
                if api:
                    extra = [h for h in extra if h[0] != b"cache-control"]
                    headers = [h for h in message.get("headers", ()) if h[0] != b"cache-control"]
                    extra.append((b"cache-control", b"no-store"))
                else:
                    headers = list(message.get("headers", ()))
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
