"""Payload encryption for every client and worker: AES-256-GCM over each whole Payload.

The server, its database and the Web UI see only `binary/encrypted` payloads and the key id; the
citizen's name, phone and address, update arguments and results, and failure messages and stack
traces (moved into encoded attributes) are ciphertext. Search attributes, workflow ids and
workflow/activity/update names are not payloads and stay readable: they must never carry personal data.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from starter.keys import KeyRing, KeyRingError, file_stamp, key_file_in_use, load_key_ring, read_key_file
from starter.payloads import data_converter as plain_converter

ENCODING = b"binary/encrypted"
KEY_ID_META = "encryption-key-id"
NONCE_BYTES = 12


class PayloadDecryptionError(Exception):
    """A payload this process cannot decrypt; the message names the key id."""


log = structlog.get_logger(__name__)


class EncryptionCodec(PayloadCodec):
    """Encrypts with the ring's current key, decrypts with any of its keys. Given the file the ring
    came from (`watch`), it reads the file again whenever it changed, before encoding or decoding:
    after `hotline keys rotate` a running process (`hotline web`, a worker) decrypts the new key's
    payloads and encrypts with it, without a restart. A file broken meanwhile keeps the ring in use."""

    def __init__(self, keys: KeyRing, watch: Path | None = None) -> None:
        self._watch = watch
        self._stamp = file_stamp(watch) if watch is not None else None
        self._lock = threading.Lock()
        self._use(keys)

    def _use(self, keys: KeyRing) -> None:
        self.keys = keys
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    def refresh(self) -> None:
        """Read the watched key file again if it changed since it was last read."""
        if self._watch is None or file_stamp(self._watch) == self._stamp:
            return
        with self._lock:
            stamp = file_stamp(self._watch)
            if stamp == self._stamp:
                return
            try:
                ring = read_key_file(self._watch)
            except KeyRingError as err:
                log.warning("key file changed but cannot be used; keeping the keys in use", error=str(err))
                self._stamp = stamp  # said once; read again on its next change
                return
            self._use(ring)
            self._stamp = stamp
            log.info("key file read again", source=ring.source, keys=list(ring.keys), current=ring.current)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.refresh()
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.refresh()
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.keys.current
        nonce = os.urandom(NONCE_BYTES)
        # The key id is authenticated too: a payload relabelled with another id fails to decrypt.
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID_META: key_id.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
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
        payload_codec=EncryptionCodec(keys, watch),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def converter_from_environment() -> DataConverter:
    """The converter for the configured keys (see starter.keys), following their file when it
    changes; KeyRingError if none and not off."""
    return data_converter(load_key_ring(), key_file_in_use())
