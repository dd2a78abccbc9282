"""Payload encryption for every client and worker: AES-256-GCM over each whole Payload.

The server, its database and the Web UI see only `binary/encrypted` payloads and the key id; the
citizen's name, phone and address, update arguments and results, and failure messages and stack
traces (moved into encoded attributes) are ciphertext. Search attributes, workflow ids and
workflow/activity/update names are not payloads and stay readable: they must never carry personal data.

Keys by audience (受众): the payload converter marks a value meant for one department (by its type,
domain/audience.py) with that department's code; the codec then seals it in an envelope: a random
data key per payload encrypts it, and the data key is wrapped under the department's current key
and, where this process holds it, the centre's. The centre (which holds every department's keys) and
that department open it; another department cannot. Everything else stays in the centre's format.
A department's own process (its ring holds only its keys) seals all it writes for itself.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from activities.runtime.keys import (
    KEY_BYTES,
    KeyRing,
    KeyRingError,
    WatchedFile,
    key_file_in_use,
    load_key_ring,
    read_key_file,
)
from activities.runtime.payloads import PayloadConverter
from activities.runtime.payloads import data_converter as plain_converter
from domain.audience import audience_of

ENCODING = b"binary/encrypted"
ENVELOPE_ENCODING = b"binary/encrypted-envelope"
KEY_ID_META = "encryption-key-id"
AUDIENCE_META = "encryption-audience"
WRAPS_META = "encryption-wraps"
NONCE_BYTES = 12


class AudiencePayloadConverter(PayloadConverter):
    """Pydantic payloads, each meant for a department marked with its code (domain/audience.py), so
    the codec can seal it for that department. The mark is the value's type's, not the caller's."""

    def to_payloads(self, values: Sequence[object]) -> list[Payload]:
        payloads = super().to_payloads(values)
        for value, payload in zip(values, payloads, strict=True):
            audience = audience_of(value)
            if audience is not None:
                payload.metadata[AUDIENCE_META] = audience.encode()
        return payloads


class PayloadDecryptionError(Exception):
    """A payload this process cannot decrypt; the message names the key id."""


log = structlog.get_logger(__name__)


class EncryptionCodec(PayloadCodec):
    """Encrypts with the ring's current key, decrypts with any of its keys. Given the file the ring
    came from (`watch`), it reads the file again whenever it changed, before encoding or decoding:
    after `hotline keys rotate` a running process (`hotline web`, a worker) decrypts the new key's
    payloads and encrypts with it, without a restart. A file broken meanwhile keeps the ring in use."""

    def __init__(self, keys: KeyRing, watch: Path | None = None) -> None:
        self._file = WatchedFile(watch)
        self._use(keys)

    def _use(self, keys: KeyRing) -> None:
        self.keys = keys
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.all_keys().items()}

    def refresh(self) -> None:
        """Read the watched key file again if it changed since it was last read."""
        self._file.if_changed(self._reread)

    def _reread(self, path: Path) -> bool:
        try:
            ring = read_key_file(path)
        except KeyRingError as err:
            log.warning("key file changed but cannot be used; keeping the keys in use", error=str(err))
            return True  # said once; read again on its next change
        self._use(ring)
        log.info("key file read again", source=ring.source, keys=list(ring.keys), current=ring.current)
        return True

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.refresh()
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.refresh()
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        keys = self.keys
        # A department's own process seals everything for itself: it holds no key of the centre's.
        audience = keys.holder or payload.metadata.get(AUDIENCE_META, b"").decode() or None
        if audience is not None and (keys.holder or audience in keys.departments):
            return self._seal(payload, audience)
        # The centre's, or a department whose keys the centre has not made yet: the centre's format.
        key_id = keys.current
        nonce = os.urandom(NONCE_BYTES)
        # The key id is authenticated too: a payload relabelled with another id fails to decrypt.
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID_META: key_id.encode()}, data=nonce + sealed)

    def _seal(self, payload: Payload, audience: str) -> Payload:
        """An envelope: the payload under a fresh data key, the data key wrapped under the current
        key of the audience's department and (held by the centre) the centre's current key."""
        keys = self.keys
        wrap_ids = [keys.current] if keys.holder else [keys.departments[audience].current, keys.current]
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        nonce = os.urandom(NONCE_BYTES)
        # The audience is authenticated with the data and with each wrap: relabelling fails to open.
        sealed = AESGCM(data_key).encrypt(nonce, payload.SerializeToString(), _envelope_aad(audience))
        wraps = {}
        for key_id in wrap_ids:
            wrap_nonce = os.urandom(NONCE_BYTES)
            wrapped = self._ciphers[key_id].encrypt(wrap_nonce, data_key, _wrap_aad(key_id, audience))
            wraps[key_id] = base64.b64encode(wrap_nonce + wrapped).decode("ascii")
        metadata = {
            "encoding": ENVELOPE_ENCODING,
            AUDIENCE_META: audience.encode(),
            KEY_ID_META: ",".join(wrap_ids).encode(),
            WRAPS_META: json.dumps(wraps, separators=(",", ":")).encode(),
        }
        return Payload(metadata=metadata, data=nonce + sealed)

    def _open(self, payload: Payload) -> Payload:
        audience = payload.metadata.get(AUDIENCE_META, b"").decode(errors="replace")
        try:
            wraps = json.loads(payload.metadata.get(WRAPS_META, b"{}"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            wraps = {}
        held = [key_id for key_id in wraps if key_id in self._ciphers] if isinstance(wraps, dict) else []
        if not held:
            raise PayloadDecryptionError(
                f"载荷仅供单位 '{audience}' 与中心读取，本进程的密钥环（{self.keys.source}）无权解密 / payload sealed "
                f"for '{audience}' and the centre (keys {', '.join(wraps) or '-'}); this key ring holds none of them"
            )
        key_id = held[0]
        try:
            wrapped = base64.b64decode(wraps[key_id], validate=True)
            data_key = self._ciphers[key_id].decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(key_id, audience)
            )
            plain = AESGCM(data_key).decrypt(
                payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], _envelope_aad(audience)
            )
        except (InvalidTag, binascii.Error, ValueError, TypeError):
            raise PayloadDecryptionError(
                f"载荷无法用密钥 '{key_id}' 解密（密钥不符或数据被篡改） / payload failed authentication "
                f"under key '{key_id}' (a different key with that id, or tampered data or audience)"
            ) from None
        return Payload.FromString(plain)

    def decrypt_or_keep(self, payload: Payload) -> Payload:
        """The payload opened if this ring can, else as it was (the codec server's view for one
        department: what is not its own stays encrypted)."""
        try:
            return self.decrypt(payload)
        except PayloadDecryptionError:
            return payload

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") == ENVELOPE_ENCODING:
            return self._open(payload)
        # Written before encryption was turned on (or by a plain client): readable as it is, so old
        # histories still replay.
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_META, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(self.keys.keys)
            raise PayloadDecryptionError(
                f"载荷由密钥 '{key_id}' 加密，本进程的密钥环（{self.keys.source}）没有该密钥 / payload encrypted "
                f"with key '{key_id}', which this key ring lacks (keys: {known})"
            )
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise PayloadDecryptionError(
                f"载荷无法用密钥 '{key_id}' 解密（密钥不符或数据被篡改） / payload failed authentication "
                f"under key '{key_id}' (a different key with that id, or tampered data)"
            ) from None
        return Payload.FromString(plain)


def _envelope_aad(audience: str) -> bytes:
    return f"hotline-envelope|{audience}".encode()


def _wrap_aad(key_id: str, audience: str) -> bytes:
    return f"hotline-wrap|{key_id}|{audience}".encode()


def undecryptable(err: PayloadDecryptionError) -> str:
    """For the web's 503: why the data cannot be read now, and what the operator does (a watched key
    file is read again when it changes, so distributing it is enough)."""
    return (
        f"数据暂时无法解密：{err}。请把含该密钥的密钥文件分发到本机（hotline keys list 查看），"
        "hotline web 会自动重新读取；仍不行请重启 hotline web"
    )


def data_converter(keys: KeyRing | None, watch: Path | None = None) -> DataConverter:
    """The project's converter: pydantic payloads, encrypted with `keys` (None: unencrypted), and
    failure messages and stack traces moved into encoded (so encrypted) attributes; `watch`: the key
    file to follow when it changes."""
    if keys is None:
        return plain_converter
    return dataclasses.replace(
        plain_converter,
        payload_converter_class=AudiencePayloadConverter,
        payload_codec=EncryptionCodec(keys, watch),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def converter_from_environment() -> DataConverter:
    """The converter for the configured keys (see activities.runtime.keys), following their file when it
    changes; KeyRingError if none and not off."""
    return data_converter(load_key_ring(), key_file_in_use())
