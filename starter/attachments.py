"""答复 attachments (photos, PDFs): checked by size and by their own bytes, kept in a file store
under the data folder by their SHA-256 digest. The workflow's Answer evidence holds only the
digest and the file's name ("附件 sha256:<hex> 现场照片.jpg"), never the bytes."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import filetype

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
# The types a 答复 may carry, by what the bytes are (a renamed .exe is not a photo).
ALLOWED = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
}
PREFIX = "附件 sha256:"
_EVIDENCE = re.compile(r"^附件 sha256:([0-9a-f]{64}) (.+)$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class AttachmentRefused(Exception):
    """A file that may not be attached; the message names it and why, in Chinese."""


@dataclass(frozen=True)
class Attachment:
    digest: str
    name: str

    @property
    def evidence(self) -> str:
        return f"{PREFIX}{self.digest} {self.name}"


def checked(name: str, data: bytes) -> str:
    """The file's MIME type, or a refusal naming the file (empty, too large, not a photo or PDF)."""
    if not data:
        raise AttachmentRefused(f"附件 {name}：文件为空")
    if len(data) > MAX_BYTES:
        raise AttachmentRefused(f"附件 {name}：超过 {MAX_BYTES // (1024 * 1024)} MB")
    kind = filetype.guess(data)
    if kind is None or kind.mime not in ALLOWED:
        raise AttachmentRefused(f"附件 {name}：只接受照片（JPEG、PNG、WebP）或 PDF")
    mime: str = kind.mime  # filetype has no types
    return mime


def safe_name(name: str) -> str:
    """The name as the page shows it: no folders, no control characters, at most 80 characters."""
    base = re.split(r"[/\\]", name)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip() or "附件"
    return base[-80:]


class FileStore:
    """Files by SHA-256 digest under `folder` (`<folder>/<2 hex>/<digest>`): one copy however
    often a file is attached, and a digest names exactly the bytes the clerk sent."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, digest: str) -> Path:
        return self.folder / digest[:2] / digest

    def put(self, name: str, data: bytes) -> Attachment:
        checked(name, data)
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(data)
            os.replace(partial, path)  # never a half-written file under its digest
        return Attachment(digest=digest, name=safe_name(name))

    def get(self, digest: str) -> tuple[bytes, str] | None:
        """The bytes and their type, or None (unknown digest, or a file that no longer matches it)."""
        if not _DIGEST.fullmatch(digest):
            return None
        path = self._path(digest)
        if not path.is_file():
            return None
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            return None
        kind = filetype.guess(data)
        return data, kind.mime if kind else "application/octet-stream"


def attachments_in(evidence: list[str]) -> list[Attachment]:
    """The attachments an Answer's evidence names (other evidence lines are references in words)."""
    found = []
    for line in evidence:
        match = _EVIDENCE.match(line)
        if match:
            found.append(Attachment(digest=match.group(1), name=match.group(2)))
    return found
