"""Payload encryption: the codec (round trip, wrong key, rotation, passthrough of old payloads),
the key ring's sources and files, the `hotline keys` commands, and the codec server over real HTTP
(token, /login cookie, CORS for the Web UI only)."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError
from typer.testing import CliRunner

from activities.runtime.codec import ENCODING, KEY_ID_META, EncryptionCodec, PayloadDecryptionError, data_converter
from activities.runtime.keys import (
    ENCRYPTION_ENV,
    KEYS_ENV,
    KEYS_FILE_ENV,
    KeyRing,
    KeyRingError,
    create_key_file,
    ensure_key_file,
    load_key_ring,
    read_key_file,
    update_key_file,
)
from activities.runtime.payloads import data_converter as plain_converter
from domain.models import Citizen, Ticket
from starter.cli.keys import app as keys_app
from starter.tools.codec_server import (
    COOKIE,
    COOKIE_MAX_AGE,
    TOKEN_ENV,
    CodecServer,
    codec_token,
    cookie_value,
    start_codec_server,
)
from tests.support.codec import TOKEN, UI, body, payload_of, plain

PHONE = "13912345678"
NAME = "李秀兰"
KEY32, KEY16 = (base64.b64encode(bytes(n)).decode() for n in (32, 16))


def ticket() -> Ticket:
    return Ticket(
        ticket_no="T-CODEC-1",
        received_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        kind="投诉",
        category="市容环卫",
        street="滨河街道",
        urgency="一般",
        title="垃圾未清运",
        content="东门垃圾三天未清运",
        citizen=Citizen(name=NAME, phone=PHONE, address="滨河街道镇北社区8号楼"),
    )


async def test_round_trip_hides_the_citizen_and_names_the_key() -> None:
    ring = KeyRing.generate()
    converter = data_converter(ring)
    [payload] = await converter.encode([ticket()])

    assert payload.metadata["encoding"] == ENCODING and payload.metadata[KEY_ID_META] == b"k1"
    raw = payload.SerializeToString()
    assert PHONE.encode() not in raw and NAME.encode() not in raw
    assert await converter.decode([payload], [Ticket]) == [ticket()]


async def test_each_payload_has_its_own_nonce() -> None:
    codec = EncryptionCodec(KeyRing.generate())
    first, second = await codec.encode([plain("同一内容"), plain("同一内容")])
    assert first.data != second.data


async def test_a_payload_from_another_key_ring_is_refused_naming_the_key() -> None:
    [payload] = await EncryptionCodec(KeyRing.generate()).encode([plain(PHONE)])

    with pytest.raises(PayloadDecryptionError, match=r"'k1'.*authentication"):
        await EncryptionCodec(KeyRing.generate()).decode([payload])  # same id, another key
    with pytest.raises(PayloadDecryptionError, match="'k1', which this key ring lacks"):
        await EncryptionCodec(KeyRing.generate("k7")).decode([payload])


async def test_a_tampered_payload_or_key_id_is_refused() -> None:
    ring = KeyRing.generate().rotated()
    codec = EncryptionCodec(ring)
    [payload] = await codec.encode([plain(PHONE)])
    flipped = Payload(metadata=payload.metadata, data=payload.data[:-1] + bytes([payload.data[-1] ^ 1]))
    relabelled = Payload(metadata={**payload.metadata, KEY_ID_META: b"k1"}, data=payload.data)
    for bad in (flipped, relabelled):
        with pytest.raises(PayloadDecryptionError):
            await codec.decode([bad])


async def test_rotation_new_payloads_use_the_new_key_and_old_ones_still_decrypt(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    before = create_key_file(path)
    [old] = await data_converter(before).encode([ticket()])

    update_key_file(path, read_key_file(path).rotated())
    after = read_key_file(path)
    [new] = await data_converter(after).encode([ticket()])

    assert after.current == "k2" and set(after.keys) == {"k1", "k2"} and after.keys["k1"] == before.keys["k1"]
    assert new.metadata[KEY_ID_META] == b"k2"
    assert await data_converter(after).decode([old, new], [Ticket, Ticket]) == [ticket(), ticket()]
    with pytest.raises(PayloadDecryptionError, match="'k2'"):
        await EncryptionCodec(before).decode([new])  # a process not yet given the new key says which


async def test_unencrypted_payloads_pass_through() -> None:
    """Histories written before encryption was turned on stay readable (and replay)."""
    old = plain(ticket())
    converter = data_converter(KeyRing.generate())
    assert await converter.payload_codec.decode([old]) == [old]
    assert await converter.decode([old], [Ticket]) == [ticket()]


async def test_failure_messages_and_stack_traces_are_encrypted() -> None:
    converter = data_converter(KeyRing.generate())
    failure = Failure()
    try:
        raise ApplicationError(f"无法联系诉求人 {PHONE}")
    except ApplicationError as err:
        await converter.encode_failure(err, failure)

    assert PHONE.encode() not in failure.SerializeToString() and failure.message == "Encoded failure"
    assert PHONE in str(await converter.decode_failure(failure))


# --- where the keys come from ----------------------------------------------------------------------


def test_without_keys_clients_refuse_with_one_line_saying_how_to_create_them(no_keys: Path) -> None:
    with pytest.raises(KeyRingError, match="hotline keys new") as refused:
        load_key_ring()
    assert "\n" not in str(refused.value)


def test_encryption_off_only_when_asked(no_keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENCRYPTION_ENV, "off")
    assert load_key_ring() is None and data_converter(None) is plain_converter
    monkeypatch.setenv(ENCRYPTION_ENV, "perhaps")
    with pytest.raises(KeyRingError, match="HOTLINE_ENCRYPTION"):
        load_key_ring()


def test_keys_from_the_environment_the_file_and_the_default_file(no_keys: Path, monkeypatch) -> None:
    inline = KeyRing.generate("k5")
    monkeypatch.setenv(KEYS_ENV, inline.to_json())
    assert load_key_ring().keys == inline.keys

    default = create_key_file(no_keys / ".hotline" / "keys.json")
    monkeypatch.delenv(KEYS_ENV)
    assert load_key_ring().keys == default.keys

    chosen = create_key_file(no_keys / "elsewhere.json")
    monkeypatch.setenv(KEYS_FILE_ENV, str(no_keys / "elsewhere.json"))
    assert load_key_ring().keys == chosen.keys


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"current": "k1", "keys": {}}', "expected"),
        (f'{{"current": "k2", "keys": {{"k1": "{KEY32}"}}}}', "'k2' is not among"),
        ('{"current": "k1", "keys": {"k1": "not base64!"}}', "not valid base64"),
        (f'{{"current": "k1", "keys": {{"k1": "{KEY16}"}}}}', "32 bytes, not 16"),
    ],
)
def test_a_bad_key_ring_is_refused_naming_the_source(text: str, message: str) -> None:
    with pytest.raises(KeyRingError, match=message) as refused:
        KeyRing.from_json(text, "district-keys.json")
    assert str(refused.value).startswith("district-keys.json: ")


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_key_files_are_private_and_exposed_ones_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    create_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(KeyRingError, match="already exists"):
        create_key_file(path)
    update_key_file(path, read_key_file(path).rotated())
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(KeyRingError, match="chmod 600"):
        read_key_file(path)


def test_the_server_and_demo_create_the_default_key_file_once(no_keys: Path) -> None:
    created = ensure_key_file()
    assert created == Path(".hotline/keys.json") and (no_keys / ".hotline/keys.json").stat().st_mode & 0o777 == 0o600
    first = load_key_ring()
    assert ensure_key_file() is None and load_key_ring() == first


def test_keys_commands_new_rotate_activate_list(no_keys: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(keys_app, ["new"]).exit_code == 0
    refused = runner.invoke(keys_app, ["new"])
    assert refused.exit_code == 2 and "already exists" in refused.output
    assert runner.invoke(keys_app, ["rotate"]).exit_code == 0
    assert runner.invoke(keys_app, ["rotate", "--stage"]).exit_code == 0
    listed = runner.invoke(keys_app, ["list"]).output.split()
    assert listed == ["k1", "k2（当前）", "k3"]
    assert runner.invoke(keys_app, ["activate", "k3"]).exit_code == 0
    assert read_key_file(Path(".hotline/keys.json")).current == "k3"
    assert runner.invoke(keys_app, ["activate", "k9"]).exit_code == 2
    shown = runner.invoke(keys_app, ["list"]).output
    assert not any(
        base64.b64encode(key).decode() in shown for key in read_key_file(Path(".hotline/keys.json")).keys.values()
    )


# --- the codec server --------------------------------------------------------------------------------


@pytest.fixture
async def codec_server() -> AsyncIterator[CodecServer]:
    server = await start_codec_server(KeyRing.generate(), [UI], port=0, token=(TOKEN, "test"))
    yield server
    await server.stop()


async def test_codec_server_refuses_without_the_token_and_says_so_to_the_browser(codec_server: CodecServer) -> None:
    async with httpx.AsyncClient(base_url=codec_server.url) as http:
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}):
            refused = await http.post("/decode", json=body(plain(PHONE)), headers={"Origin": UI, **headers})
            assert refused.status_code == 401
            # CORS headers on the refusal too: the Web UI shows a 401, not a network error.
            assert refused.headers["access-control-allow-origin"] == UI
            assert refused.headers["access-control-allow-credentials"] == "true"
        assert (await http.post("/default/encode", json=body(plain(PHONE)))).status_code == 401
        assert (await http.get("/login", params={"token": "wrong"})).status_code == 401


async def test_codec_server_encodes_and_decodes_for_the_token_holder(codec_server: CodecServer) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}", "X-Namespace": "default"}
    async with httpx.AsyncClient(base_url=codec_server.url) as http:
        encoded = await http.post("/encode", json=body(plain(ticket())), headers=bearer)
        assert encoded.status_code == 200
        [sealed] = [payload_of(p) for p in encoded.json()["payloads"]]
        assert sealed.metadata["encoding"] == ENCODING and PHONE.encode() not in sealed.data

        for path in ("/decode", "/default/decode"):
            decoded = await http.post(path, json=body(sealed, plain("明文")), headers=bearer)
            assert decoded.status_code == 200 and decoded.headers["content-type"] == "application/json"
            assert [payload_of(p) for p in decoded.json()["payloads"]] == [plain(ticket()), plain("明文")]

        empty = await http.post("/decode", json={"payloads": []}, headers=bearer)
        assert empty.json() == {"payloads": []}
        [foreign] = await EncryptionCodec(KeyRing.generate("k9")).encode([plain(PHONE)])
        unknown = await http.post("/decode", json=body(foreign), headers=bearer)
        assert unknown.status_code == 400 and "'k9'" in unknown.json()["message"]
        garbage = await http.post("/decode", content=b"not json", headers=bearer)
        assert garbage.status_code == 400


async def test_login_sets_an_http_only_cookie_that_the_web_ui_sends(codec_server: CodecServer) -> None:
    async with httpx.AsyncClient(base_url=codec_server.url) as http:
        login = await http.get("/login", params={"token": TOKEN})
        assert login.status_code == 200
        cookie = login.headers["set-cookie"].lower()
        assert f"{COOKIE}=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        decoded = await http.post("/decode", json=body(plain(PHONE)), headers={"Origin": UI})  # the cookie jar sends it
        assert decoded.status_code == 200
        assert (await http.get("/logout")).status_code == 405  # a link cannot sign anyone out
        await http.post("/logout")
        assert (await http.post("/decode", json=body(plain(PHONE)))).status_code == 401


async def test_the_cookie_holds_a_signed_expiry_never_the_token(codec_server: CodecServer) -> None:
    async with httpx.AsyncClient(base_url=codec_server.url) as http:
        login = await http.get("/login", params={"token": TOKEN})
        value = http.cookies[COOKIE]
        assert TOKEN not in value and TOKEN not in login.headers["set-cookie"]
        expires = int(value.split(".", 1)[0])
        assert 0 < expires - time.time() <= COOKIE_MAX_AGE
    cases = {
        "the cookie as issued": (value, 200),
        "the raw token as the cookie": (TOKEN, 401),
        "expired": (cookie_value(TOKEN, now=time.time() - COOKIE_MAX_AGE - 1), 401),
        "signed with another token": (cookie_value("another-token-0123456789"), 401),
        "a later expiry, the same signature": (f"{expires + 3600}.{value.split('.', 1)[1]}", 401),
    }
    for name, (cookie, status) in cases.items():
        async with httpx.AsyncClient(base_url=codec_server.url, cookies={COOKIE: cookie}) as http:
            assert (await http.post("/decode", json=body(plain(PHONE)))).status_code == status, name


async def test_cors_admits_the_web_ui_with_credentials_and_no_other_origin(codec_server: CodecServer) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
    }
    async with httpx.AsyncClient(base_url=codec_server.url) as http:
        allowed = await http.options("/default/decode", headers={"Origin": UI, **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == UI
        assert allowed.headers["access-control-allow-credentials"] == "true"
        allowed_headers = allowed.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "x-namespace"} <= {h.strip() for h in allowed_headers.split(",")}

        other = "http://evil.example"
        refused = await http.options("/decode", headers={"Origin": other, **preflight})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        # Even with the token, a page of another origin gets no CORS header: its browser withholds the answer.
        answered = await http.post(
            "/decode", json=body(plain(PHONE)), headers={"Origin": other, "Authorization": f"Bearer {TOKEN}"}
        )
        assert "access-control-allow-origin" not in answered.headers


def test_the_token_file_is_created_private_and_reused(no_keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token, source = codec_token()
    assert source == str(Path(".hotline/codec-token")) and len(token) >= 32
    assert (no_keys / ".hotline/codec-token").stat().st_mode & 0o777 == 0o600
    assert codec_token() == (token, source)
    monkeypatch.setenv(TOKEN_ENV, "from-the-environment-123")
    assert codec_token() == ("from-the-environment-123", TOKEN_ENV)
