"""Payload encryption for every client and worker: AES-256-GCM over each whole Payload.

The server, its database and the Web UI see only `binary/encrypted` payloads and the key id; the
citizen's name, phone and address, update arguments and results, and failure messages and stack
traces (moved into encoded attributes) are ciphertext. Search attributes, workflow ids and
workflow/activity/update names are not payloads and stay readable: they must never carry personal data.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from starter.keys import KeyRing, load_key_ring

ENCODING = b"binary/encrypted"
KEY_ID_META = "encryption-key-id"
NONCE_BYTES = 12


class PayloadDecryptionError(Exception):
    """A payload this process cannot decrypt; the message names the key id."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
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


def data_converter(keys: KeyRing | None) -> DataConverter:
    """The project's converter: pydantic payloads, encrypted with `keys` (None: unencrypted), and
    failure messages and stack traces moved into encoded (so encrypted) attributes."""
    if keys is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def converter_from_environment() -> DataConverter:
    """The converter for the configured keys (see starter.keys); KeyRingError if none and not off."""
    return data_converter(load_key_ring())
