"""The key ring that encrypts payloads: keys by id, one of them current.

Loaded from `HOTLINE_KEYS_FILE` (a JSON file), or `HOTLINE_KEYS` (the same JSON inline, for secret
stores that inject environment variables), or else `.hotline/keys.json` if it exists:

    {"current": "k2", "keys": {"k1": "<base64 of 32 bytes>", "k2": "<base64 of 32 bytes>"}}

New payloads use the current key; every key in the ring still decrypts (rotation keeps old keys).

Keys by audience (受众密钥): the centre's ring may also hold each department's own keys,
`"departments": {"zjj": {"current": "zjj.k1", "keys": {...}}}`; a payload meant for a department is
sealed for that department's key and the centre's (activities/runtime/codec.py). A department's ring, exported
with `hotline keys export-department`, holds only its own keys: `{"department": "zjj", "current":
"zjj.k1", "keys": {...}}`. Key ids are unique across the whole ring (a department's start with its code).
`HOTLINE_ENCRYPTION=off` turns encryption off explicitly; without keys and without it, clients refuse.
A ring read from a file is read again when the file changes (`key_file_in_use`, the codec's watch),
so a long-running process follows `hotline keys rotate` without a restart.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import re
import secrets
import stat
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEYS_FILE_ENV = "HOTLINE_KEYS_FILE"
KEYS_ENV = "HOTLINE_KEYS"
ENCRYPTION_ENV = "HOTLINE_ENCRYPTION"
DEFAULT_KEYS_FILE = Path(".hotline/keys.json")
KEY_BYTES = 32  # AES-256
KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

NO_KEYS = (
    "未配置载荷加密密钥：请运行 `hotline keys new` 生成 .hotline/keys.json，或设置 HOTLINE_KEYS_FILE / HOTLINE_KEYS"
    "（明确不加密：HOTLINE_ENCRYPTION=off） / no payload encryption keys: run `hotline keys new`, or set "
    "HOTLINE_KEYS_FILE or HOTLINE_KEYS (HOTLINE_ENCRYPTION=off to run unencrypted)"
)


class KeyRingError(Exception):
    """Keys that cannot be used; the message is one line naming the source."""


DEPARTMENT_CODE = re.compile(r"[a-z0-9_]{1,32}")  # as domain.config's Code


@dataclass(frozen=True)
class KeyRing:
    """`keys` and `current` are the holder's own: the centre's (holder None) or one department's.
    The centre's ring also holds `departments`, each a ring of that department's keys."""

    keys: Mapping[str, bytes]
    current: str
    source: str = "内存"
    holder: str | None = None  # None: the centre; else the department whose own ring this is
    departments: Mapping[str, KeyRing] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyRingError(f"{self.source}: current key '{self.current}' is not among the keys")
        for key_id, key in self.keys.items():
            if not KEY_ID.fullmatch(key_id):
                raise KeyRingError(f"{self.source}: key id '{key_id}' must be 1-64 letters, digits, '_', '.' or '-'")
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"{self.source}: key '{key_id}' must be {KEY_BYTES} bytes, not {len(key)}")
        if self.holder is not None and self.departments:
            raise KeyRingError(f"{self.source}: a department's ring holds only its own keys")
        seen = set(self.keys)
        for code, ring in self.departments.items():
            if not DEPARTMENT_CODE.fullmatch(code) or ring.holder != code:
                raise KeyRingError(f"{self.source}: departments.{code}: not a department code")
            clash = seen & set(ring.keys)
            if clash:
                raise KeyRingError(f"{self.source}: departments.{code}: key id '{min(clash)}' is used twice")
            seen |= set(ring.keys)

    @classmethod
    def generate(cls, key_id: str = "k1", source: str = "内存", holder: str | None = None) -> KeyRing:
        return cls(keys={key_id: secrets.token_bytes(KEY_BYTES)}, current=key_id, source=source, holder=holder)

    @property
    def prefix(self) -> str:
        """What the holder's key ids start with: a department's code and a dot; the centre's none."""
        return f"{self.holder}." if self.holder else ""

    def all_keys(self) -> dict[str, bytes]:
        """Every key this ring can decrypt with, by id (the centre: its own and every department's)."""
        merged = dict(self.keys)
        for ring in self.departments.values():
            merged.update(ring.keys)
        return merged

    def rotated(self, *, activate: bool = True) -> KeyRing:
        """A new key added (k<n+1>), made current unless `activate` is false; old keys stay to decrypt."""
        pattern = re.escape(self.prefix) + r"k(\d+)"
        numbers = [int(m.group(1)) for k in self.keys if (m := re.fullmatch(pattern, k))]
        new_id = f"{self.prefix}k{max(numbers, default=0) + 1}"
        while new_id in self.all_keys():  # ids not of the k<n> form are the operator's own; never clash
            new_id += "x"
        keys = {**self.keys, new_id: secrets.token_bytes(KEY_BYTES)}
        current = new_id if activate else self.current
        return dataclasses.replace(self, keys=keys, current=current)

    def activated(self, key_id: str) -> KeyRing:
        if key_id not in self.keys:
            raise KeyRingError(f"{self.source}: no key '{key_id}' (keys: {', '.join(self.keys)})")
        return dataclasses.replace(self, current=key_id)

    def department(self, code: str) -> KeyRing:
        """The department's own ring, as the centre holds it (KeyRingError if it has none)."""
        ring = self.departments.get(code) if self.holder is None else (self if self.holder == code else None)
        if ring is None:
            raise KeyRingError(f"{self.source}: no keys for department '{code}' (hotline keys department-new {code})")
        return dataclasses.replace(ring, source=self.source)

    def with_department(self, ring: KeyRing) -> KeyRing:
        """The centre's ring with a department's ring added or replaced."""
        if self.holder is not None or ring.holder is None:
            raise KeyRingError(f"{self.source}: only the centre's ring holds departments' keys")
        return dataclasses.replace(self, departments={**self.departments, ring.holder: ring})

    def to_json(self) -> str:
        raw: dict[str, Any] = {"department": self.holder} if self.holder else {}
        raw |= {"current": self.current, "keys": _encode_keys(self.keys)}
        if self.departments:
            raw["departments"] = {
                code: {"current": ring.current, "keys": _encode_keys(ring.keys)}
                for code, ring in sorted(self.departments.items())
            }
        return json.dumps(raw, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> KeyRing:
        try:
            raw: Any = json.loads(text)
        except json.JSONDecodeError as err:
            raise KeyRingError(f"{source}: not valid JSON (line {err.lineno})") from None
        if not isinstance(raw, dict):
            raise KeyRingError(f'{source}: expected {{"current": "<id>", "keys": {{"<id>": "<base64>", ...}}}}')
        holder = raw.get("department")
        if holder is not None and (not isinstance(holder, str) or not DEPARTMENT_CODE.fullmatch(holder)):
            raise KeyRingError(f"{source}: 'department' must be a department's code")
        departments: dict[str, KeyRing] = {}
        extra = raw.get("departments", {})
        if not isinstance(extra, dict):
            raise KeyRingError(f"{source}: 'departments' must map department codes to key rings")
        for code, part in extra.items():
            if not isinstance(part, dict):
                raise KeyRingError(f'{source}: departments.{code}: expected {{"current": …, "keys": …}}')
            departments[str(code)] = cls._own(part, f"{source}: departments.{code}", holder=str(code))
        own = cls._own(raw, source, holder=holder)
        return dataclasses.replace(own, source=source, departments=departments)

    @classmethod
    def _own(cls, raw: dict[str, Any], source: str, holder: str | None) -> KeyRing:
        if not isinstance(raw.get("keys"), dict) or not raw["keys"]:
            raise KeyRingError(f'{source}: expected {{"current": "<id>", "keys": {{"<id>": "<base64>", ...}}}}')
        if not isinstance(raw.get("current"), str):
            raise KeyRingError(f"{source}: 'current' must name one of the keys")
        keys: dict[str, bytes] = {}
        for key_id, text_key in raw["keys"].items():
            try:
                keys[str(key_id)] = base64.b64decode(str(text_key), validate=True)
            except binascii.Error:
                raise KeyRingError(f"{source}: key '{key_id}' is not valid base64") from None
        return cls(keys=keys, current=raw["current"], source=source, holder=holder)


def _encode_keys(keys: Mapping[str, bytes]) -> dict[str, str]:
    return {k: base64.b64encode(v).decode("ascii") for k, v in keys.items()}


def encryption_enabled() -> bool:
    value = os.environ.get(ENCRYPTION_ENV, "on").strip().lower()
    if value in ("off", "0", "false", "no"):
        return False
    if value in ("on", "1", "true", "yes", ""):
        return True
    raise KeyRingError(f"{ENCRYPTION_ENV}: expected on or off, not '{value}'")


def keys_file_path() -> Path:
    """Where the key file is (or would be created): HOTLINE_KEYS_FILE, else .hotline/keys.json."""
    chosen = os.environ.get(KEYS_FILE_ENV)
    return Path(chosen) if chosen else DEFAULT_KEYS_FILE


def read_key_file(path: Path) -> KeyRing:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyRingError(f"{path}: key file not found (create it with `hotline keys new`)") from None
    except OSError as err:
        raise KeyRingError(f"{path}: cannot read: {err.strerror}") from None
    # Keys readable by others are as good as leaked: refuse, and say how to fix it.
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyRingError(f"{path}: key file is readable by group or others (mode {mode & 0o777:o}): chmod 600 {path}")
    return KeyRing.from_json(text, str(path))


def load_key_ring() -> KeyRing | None:
    """The configured key ring; None only when HOTLINE_ENCRYPTION=off. No keys at all: KeyRingError."""
    if not encryption_enabled():
        return None
    if os.environ.get(KEYS_FILE_ENV):
        return read_key_file(keys_file_path())
    inline = os.environ.get(KEYS_ENV)
    if inline:
        return KeyRing.from_json(inline, KEYS_ENV)
    if DEFAULT_KEYS_FILE.exists():
        return read_key_file(DEFAULT_KEYS_FILE)
    raise KeyRingError(NO_KEYS)


def key_file_in_use() -> Path | None:
    """The file the configured ring comes from (as `load_key_ring` chooses), or None (inline, or off)."""
    if not encryption_enabled():
        return None
    if os.environ.get(KEYS_FILE_ENV):
        return keys_file_path()
    if os.environ.get(KEYS_ENV):
        return None
    return DEFAULT_KEYS_FILE if DEFAULT_KEYS_FILE.exists() else None


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """What tells that a file was replaced or rewritten: its inode, time and size (None: unreadable)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class WatchedFile:
    """A file a long-running process reads again when it changes (the key file, the users file)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp = file_stamp(path) if path is not None else None
        self.lock = threading.Lock()  # held while the file is read, or written by this process

    def if_changed(self, take: Callable[[Path], bool]) -> None:
        """Call `take(path)` when the file changed since it was last taken (once, however many
        threads ask). When `take` returns True this version counts as taken (read, or refused for
        good); False leaves it to be tried again on the next call."""
        if self.path is None or file_stamp(self.path) == self._stamp:
            return
        with self.lock:
            stamp = file_stamp(self.path)
            if stamp == self._stamp:
                return
            if take(self.path):
                self._stamp = stamp

    def taken(self) -> None:
        """This process has just written the file (holding `lock`): its present version counts as taken."""
        if self.path is not None:
            self._stamp = file_stamp(self.path)


def write_secret(path: Path, text: str, *, exclusive: bool) -> None:
    """Write a file only its owner can read, atomically (a half-written key file must never exist)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive and path.exists():
        raise KeyRingError(f"{path}: already exists; not overwritten (rotate with `hotline keys rotate`)")
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(partial, path)  # fails if another process created it meanwhile
        else:
            os.replace(partial, path)
    except FileExistsError:
        raise KeyRingError(f"{path}: already exists; not overwritten") from None
    finally:
        partial.unlink(missing_ok=True)


def create_key_file(path: Path) -> KeyRing:
    ring = KeyRing.generate(source=str(path))
    write_secret(path, ring.to_json(), exclusive=True)
    return ring


def update_key_file(path: Path, ring: KeyRing) -> None:
    write_secret(path, ring.to_json(), exclusive=False)


def ensure_key_file() -> Path | None:
    """For the embedded server and the demo: make sure the configured keys exist, creating the key
    file (mode 0600) when nothing is configured. Returns the file created, or None."""
    if not encryption_enabled() or (os.environ.get(KEYS_ENV) and not os.environ.get(KEYS_FILE_ENV)):
        return None
    path = keys_file_path()
    if path.exists():
        read_key_file(path)  # refuse a broken or exposed file now, not in the first worker
        return None
    create_key_file(path)
    return path
