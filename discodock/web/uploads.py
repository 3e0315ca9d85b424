"""Upload handling: a request-size cap enforced while the body streams in, and saving uploaded files.

The cap is an ASGI middleware around the whole app: a declared ``Content-Length`` over the cap is refused
before any byte is read, and a body without one (chunked transfer) is counted as it arrives and refused at
the first chunk past the cap. Either way the answer is 413 and the rest of the body is never read.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from starlette.responses import JSONResponse

CHUNK = 1 << 20


class UploadTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies larger than ``max_bytes`` with 413 ``{"error": ...}``."""

    def __init__(self, app, *, max_bytes: int):
        self.app, self.max_bytes = app, int(max_bytes)

    def _too_large(self) -> JSONResponse:
        mb = self.max_bytes / (1 << 20)
        return JSONResponse({"error": f"upload larger than the server's limit of {mb:g} MB"}, status_code=413,
                            headers={"Connection": "close"})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large()(scope, receive, send)
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise UploadTooLarge()
            return message

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except UploadTooLarge:
            if not started:
                await self._too_large()(scope, receive, send)


def upload_suffix(filename: str | None, allowed: tuple[str, ...]) -> str | None:
    """The allowed suffix the client's file name ends with (longest match, case-insensitive), else None."""
    name = (filename or "").lower()
    for suffix in sorted(allowed, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return None


def save_upload(upload, dest: Path) -> int:
    """Copy a (spooled) upload to ``dest`` in chunks; returns the size in bytes. The client's file name is
    never used as a path."""
    upload.file.seek(0)
    with open(dest, "wb") as fh:
        shutil.copyfileobj(upload.file, fh, CHUNK)
    return dest.stat().st_size
