"""Keys by audience (受众密钥): a payload meant for one department is sealed for that department's key
and the centre's; another department's key cannot open it; the centre's ring holds all, a
department's exported ring only its own; old payloads still decode; the codec server decodes for a
department's sign-in only what is sealed for it; `hotline keys` makes, rotates and exports them."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from typer.testing import CliRunner

from activities.runtime.codec import (
    AUDIENCE_META,
    ENCODING,
    ENVELOPE_ENCODING,
    KEY_ID_META,
    WRAPS_META,
    EncryptionCodec,
    PayloadDecryptionError,
    data_converter,
)
from activities.runtime.keys import KeyRing, KeyRingError, read_key_file
from domain.audience import audience_of
from domain.delivery import CENTER, Delivery, DeliveryReceipt, Notice, NoticeKind
from domain.models import Assignment
from starter.cli.keys import app as keys_app
from starter.tools.codec_server import COOKIE, CodecServer, department_token, start_codec_server
from tests.support.codec import TOKEN, UI, body, payload_of, plain
from tests.support.deliveries import make_delivery, make_item_delivery

PHONE = b"138-0000-0000"


def district_ring(*codes: str) -> KeyRing:
    ring = KeyRing.generate()
    for code in codes:
        ring = ring.with_department(KeyRing.generate(f"{code}.k1", holder=code))
    return ring


def delivery_to(code: str) -> Delivery:
    assignment = Assignment(department=code, department_name=code, task_queue=f"hotline-dept-{code}")
    return make_delivery().model_copy(update={"assignment": assignment})


def notice_to(code: str) -> Notice:
    return Notice(
        idempotency_key="T#n1",
        workflow_id="ticket-T",
        ticket_no="T",
        department=code,
        kind=NoticeKind.REMINDER,
        text="预警",
    )


def test_the_audience_comes_from_the_payloads_type_and_its_department_field() -> None:
    assert audience_of(delivery_to("zjj")) == "zjj"
    assert audience_of(make_item_delivery()) == "env"
    assert audience_of(notice_to("cgj")) == "cgj"
    assert audience_of(notice_to(CENTER)) is None  # the centre's people: the centre's alone
    assert audience_of(make_delivery().ticket) is None
    assert audience_of("anything else") is None


async def test_a_delivery_is_sealed_for_its_department_and_the_centre_only() -> None:
    centre = district_ring("zjj", "cgj")
    [sealed] = await data_converter(centre).encode([delivery_to("zjj")])

    assert sealed.metadata["encoding"] == ENVELOPE_ENCODING and sealed.metadata[AUDIENCE_META] == b"zjj"
    assert sealed.metadata[KEY_ID_META] == b"zjj.k1,k1"  # wrapped for the department and the centre
    assert PHONE not in sealed.SerializeToString()
    assert await data_converter(centre).decode([sealed], [Delivery]) == [delivery_to("zjj")]
    zjj = centre.department("zjj")
    assert zjj.holder == "zjj" and set(zjj.all_keys()) == {"zjj.k1"}
    assert await data_converter(zjj).decode([sealed], [Delivery]) == [delivery_to("zjj")]

    # Another department's key: tried and refused, naming whose payload it is.
    with pytest.raises(PayloadDecryptionError, match="'zjj'"):
        await data_converter(centre.department("cgj")).decode([sealed], [Delivery])


async def test_notices_and_items_follow_their_department_and_the_rest_stays_the_centres() -> None:
    centre = district_ring("env", "cgj")
    converter = data_converter(centre)
    item, to_cgj, to_centre, ticket = await converter.encode(
        [make_item_delivery(), notice_to("cgj"), notice_to(CENTER), make_delivery().ticket]
    )
    assert item.metadata[AUDIENCE_META] == b"env" and to_cgj.metadata[AUDIENCE_META] == b"cgj"
    for centre_only in (to_centre, ticket):
        assert centre_only.metadata["encoding"] == ENCODING and AUDIENCE_META not in centre_only.metadata
        with pytest.raises(PayloadDecryptionError, match="'k1'"):
            EncryptionCodec(centre.department("cgj")).decrypt(centre_only)
    assert EncryptionCodec(centre.department("cgj")).decrypt(to_cgj).metadata[AUDIENCE_META] == b"cgj"


async def test_a_departments_worker_seals_what_it_writes_for_itself_and_the_centre_reads_it() -> None:
    centre = district_ring("zjj", "cgj")
    receipt = DeliveryReceipt(adapter="file_inbox", reference="/inbox/T.json")
    [sealed] = await data_converter(centre.department("zjj")).encode([receipt])

    assert sealed.metadata[AUDIENCE_META] == b"zjj" and sealed.metadata[KEY_ID_META] == b"zjj.k1"
    assert await data_converter(centre).decode([sealed], [DeliveryReceipt]) == [receipt]
    with pytest.raises(PayloadDecryptionError):
        await data_converter(centre.department("cgj")).decode([sealed], [DeliveryReceipt])


async def test_a_relabelled_audience_or_a_tampered_wrap_does_not_open() -> None:
    centre = district_ring("zjj", "cgj")
    [sealed] = await data_converter(centre).encode([delivery_to("zjj")])
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata[AUDIENCE_META] = b"cgj"
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        EncryptionCodec(centre).decrypt(relabelled)
    # A wrap for cgj's key grafted on cannot be made without the data key: cgj still cannot open it.
    grafted = Payload()
    grafted.CopyFrom(sealed)
    wraps = json.loads(sealed.metadata[WRAPS_META])
    wraps["cgj.k1"] = wraps["zjj.k1"]
    grafted.metadata[WRAPS_META] = json.dumps(wraps).encode()
    with pytest.raises(PayloadDecryptionError):
        EncryptionCodec(centre.department("cgj")).decrypt(grafted)


async def test_old_payloads_still_decode_and_a_department_without_keys_gets_todays_format() -> None:
    before = KeyRing.generate()
    [old] = await data_converter(before).encode([delivery_to("zjj")])  # no department keys yet
    assert old.metadata["encoding"] == ENCODING
    after = before.with_department(KeyRing.generate("zjj.k1", holder="zjj"))
    assert await data_converter(after).decode([old], [Delivery]) == [delivery_to("zjj")]
    assert EncryptionCodec(after).decrypt(plain("明文")) == plain("明文")  # unencrypted histories


async def test_rotating_a_departments_key_keeps_its_old_payloads_readable() -> None:
    centre = district_ring("zjj")
    [first] = await data_converter(centre).encode([delivery_to("zjj")])
    rotated = centre.with_department(centre.department("zjj").rotated())
    [second] = await data_converter(rotated).encode([delivery_to("zjj")])
    assert second.metadata[KEY_ID_META] == b"zjj.k2,k1"
    exported = data_converter(rotated.department("zjj"))
    for sealed in (first, second):
        assert await exported.decode([sealed], [Delivery]) == [delivery_to("zjj")]


def test_key_ring_files_a_department_holds_only_its_own_keys() -> None:
    centre = district_ring("zjj", "cgj")
    again = KeyRing.from_json(centre.to_json(), "centre.json")
    assert set(again.departments) == {"zjj", "cgj"} and again.all_keys() == centre.all_keys()
    zjj = KeyRing.from_json(centre.department("zjj").to_json(), "zjj.json")
    assert zjj.holder == "zjj" and zjj.departments == {} and set(zjj.all_keys()) == {"zjj.k1"}
    assert "k1" not in zjj.all_keys()  # not the centre's key

    bad = json.loads(centre.department("zjj").to_json()) | {"departments": json.loads(centre.to_json())["departments"]}
    with pytest.raises(KeyRingError, match="only its own keys"):
        KeyRing.from_json(json.dumps(bad), "bad.json")
    clash = json.loads(centre.to_json())
    clash["departments"]["cgj"]["keys"]["zjj.k1"] = clash["departments"]["zjj"]["keys"]["zjj.k1"]
    with pytest.raises(KeyRingError, match="used twice"):
        KeyRing.from_json(json.dumps(clash), "clash.json")


def test_keys_commands_per_department(no_keys: Path) -> None:
    runner = CliRunner()
    centre_file = Path(".hotline/keys.json")
    assert runner.invoke(keys_app, ["new"]).exit_code == 0
    made = runner.invoke(keys_app, ["department-new", "zjj"])
    assert made.exit_code == 0, made.output
    assert runner.invoke(keys_app, ["department-new", "zjj"]).exit_code == 2  # already has keys
    assert runner.invoke(keys_app, ["department-new", "Bad-Code"]).exit_code == 2
    assert runner.invoke(keys_app, ["department-new", "cgj"]).exit_code == 0
    assert runner.invoke(keys_app, ["rotate", "--department", "zjj", "--stage"]).exit_code == 0
    assert runner.invoke(keys_app, ["activate", "zjj.k2", "--department", "zjj"]).exit_code == 0
    ring = read_key_file(centre_file)
    assert ring.current == "k1" and ring.departments["zjj"].current == "zjj.k2"
    listed = runner.invoke(keys_app, ["list"]).output
    assert "承办单位 zjj：zjj.k1、zjj.k2（当前）" in listed and "承办单位 cgj：cgj.k1（当前）" in listed

    out = Path("to-zjj/keys.json")
    exported = runner.invoke(keys_app, ["export-department", "zjj", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert os.stat(out).st_mode & 0o777 == 0o600
    own = read_key_file(out)
    assert own.holder == "zjj" and set(own.all_keys()) == {"zjj.k1", "zjj.k2"}
    assert all(base64.b64encode(k).decode() not in out.read_text() for k in ring.keys.values())

    unknown = runner.invoke(keys_app, ["export-department", "xyz", "--out", "x.json"])
    assert unknown.exit_code == 2 and "department-new xyz" in unknown.output and not Path("x.json").exists()
    # A department's file is not where its keys are made or rotated.
    for args in (["rotate"], ["rotate", "--department", "zjj"], ["department-new", "abc"]):
        refused = runner.invoke(keys_app, [*args, "--file", str(out)])
        assert refused.exit_code == 2 and "at the centre" in refused.output


# --- the codec server: what a department's sign-in decodes --------------------------------------------


@pytest.fixture
async def district_codec() -> AsyncIterator[tuple[CodecServer, KeyRing]]:
    ring = district_ring("zjj", "cgj")
    server = await start_codec_server(ring, [UI], port=0, token=(TOKEN, "test"))
    yield server, ring
    await server.stop()


async def test_the_codec_server_decodes_for_a_department_only_its_own(
    district_codec: tuple[CodecServer, KeyRing],
) -> None:
    server, ring = district_codec
    for_zjj, for_cgj, centre_only = await data_converter(ring).encode(
        [delivery_to("zjj"), delivery_to("cgj"), make_delivery().ticket]
    )
    zjj = {"Authorization": f"Bearer {department_token(TOKEN, 'zjj')}"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        decoded = await http.post("/decode", json=body(for_zjj, for_cgj, centre_only), headers=zjj)
        assert decoded.status_code == 200
        own, other, centre = [payload_of(p) for p in decoded.json()["payloads"]]
        assert PHONE in own.data  # its own delivery, in plain
        assert other == for_cgj and centre == centre_only  # the rest as it was: still encrypted

        everything = await http.post(
            "/decode", json=body(for_cgj, centre_only), headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert all(PHONE in payload_of(p).data for p in everything.json()["payloads"])  # the centre: all

        forged = department_token("another-centre-token-000", "zjj")
        for token in (forged, "zjj.", "zjj", department_token(TOKEN, "zjj") + "0"):
            refused = await http.post("/decode", json=body(for_zjj), headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 401

        signed_in = await http.get("/login", params={"token": department_token(TOKEN, "cgj")})
        assert signed_in.status_code == 200 and signed_in.cookies[COOKIE].startswith("cgj~")
        by_cookie = await http.post("/decode", json=body(for_zjj, for_cgj))
        mine_not, mine = [payload_of(p) for p in by_cookie.json()["payloads"]]
        assert mine_not == for_zjj and PHONE in mine.data
        http.cookies.set(COOKIE, signed_in.cookies[COOKIE].replace("cgj~", "zjj~"))
        assert (await http.post("/decode", json=body(for_zjj))).status_code == 401  # relabelled cookie


def test_a_departments_codec_token_is_written_private(no_keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_CODEC_TOKEN", TOKEN)
    runner = CliRunner()
    written = runner.invoke(keys_app, ["codec-token", "zjj", "--out", "zjj-token"])
    assert written.exit_code == 0, written.output
    assert Path("zjj-token").read_text().strip() == department_token(TOKEN, "zjj")
    assert os.stat("zjj-token").st_mode & 0o777 == 0o600 and TOKEN not in written.output
    assert runner.invoke(keys_app, ["codec-token", "Not-A-Code", "--out", "x"]).exit_code == 2
