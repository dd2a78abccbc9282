"""Payloads, the codec server's request bodies and a key-less environment the codec tests share."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.runtime.keys import (
    ENCRYPTION_ENV,
    KEYS_ENV,
    KEYS_FILE_ENV,
)
from starter.tools.codec_server import (
    TOKEN_ENV,
)

UI = "http://127.0.0.1:8233"


TOKEN = "test-token-0123456789abcdef"


def plain(value: object) -> Payload:
    return pydantic_data_converter.payload_converter.to_payloads([value])[0]


@pytest.fixture
def no_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No keys configured, in an empty working folder (the session's key file is set aside)."""
    for name in (KEYS_FILE_ENV, KEYS_ENV, ENCRYPTION_ENV, TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def body(*payloads: Payload) -> dict:
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def payload_of(item: dict) -> Payload:
    return Payload(
        metadata={k: base64.b64decode(v) for k, v in item.get("metadata", {}).items()},
        data=base64.b64decode(item.get("data", "")),
    )
