"""File-inbox adapter: write each delivery or notice as a JSON file into the department's folder.

Layout: `<folder>/tickets/<key>.json`, `<folder>/items/<key>.json` (enterprise service items) and
`<folder>/notices/<key>.json`, where `<key>` is the
idempotency key with "#" spelled "_round". Files appear atomically (temp file + rename), and an
existing file is never rewritten, so a redelivery leaves exactly one file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from activities.adapters.base import TransientDeliveryError
from domain.config import FileInboxAdapter
from domain.delivery import Delivery, DeliveryReceipt, ItemDelivery, Notice


def safe_key(idempotency_key: str) -> str:
    """A file name stem for the key: "T1#2" -> "T1_round2"; anything unsafe for a path is %-escaped."""
    # Ticket numbers are already path-safe; quoting guards notice keys and stray separators.
    return quote(idempotency_key.replace("#", "_round"), safe="")


def _write_once(path: Path, payload: dict[str, Any]) -> bool:
    """Write `payload` to `path` atomically unless it exists. True when the file was already there."""
    if path.exists():
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")
    # Dot-prefixed temp name so a reader scanning *.json never sees a half-written file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return False


class FileInboxDepartmentAdapter:
    """Delivers into a folder the department's system (or a person) reads."""

    kind = "file_inbox"

    def __init__(self, settings: FileInboxAdapter) -> None:
        self._folder = Path(os.path.abspath(settings.folder))

    @property
    def folder(self) -> Path:
        return self._folder

    def ticket_path(self, idempotency_key: str) -> Path:
        return self._folder / "tickets" / f"{safe_key(idempotency_key)}.json"

    def item_path(self, idempotency_key: str) -> Path:
        return self._folder / "items" / f"{safe_key(idempotency_key)}.json"

    def notice_path(self, idempotency_key: str) -> Path:
        return self._folder / "notices" / f"{safe_key(idempotency_key)}.json"

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        path = self.ticket_path(delivery.idempotency_key)
        duplicate = await self._write(path, {"type": "ticket", "delivery": delivery.model_dump(mode="json")})
        return DeliveryReceipt(adapter=self.kind, reference=str(path), duplicate=duplicate)

    async def deliver_item(self, delivery: ItemDelivery) -> DeliveryReceipt:
        path = self.item_path(delivery.idempotency_key)
        duplicate = await self._write(path, {"type": "enterprise_item", "delivery": delivery.model_dump(mode="json")})
        return DeliveryReceipt(adapter=self.kind, reference=str(path), duplicate=duplicate)

    async def notify(self, notice: Notice) -> None:
        path = self.notice_path(notice.idempotency_key)
        await self._write(path, {"type": "notice", "notice": notice.model_dump(mode="json")})

    async def send(self, kind: str, idempotency_key: str, payload: dict[str, Any]) -> None:
        """Any other message (e.g. to the city centre), under <folder>/<kind>/<key>.json, once."""
        await self._write(self._folder / kind / f"{safe_key(idempotency_key)}.json", {"type": kind, kind: payload})

    async def aclose(self) -> None:
        return None

    async def _write(self, path: Path, payload: dict[str, Any]) -> bool:
        try:
            return await asyncio.to_thread(_write_once, path, payload)
        except OSError as exc:
            # A full disk or a permission fixed by an admin can clear up: let the activity retry.
            raise TransientDeliveryError(f"cannot write {path}: {exc.strerror or exc}") from exc
