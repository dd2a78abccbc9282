"""A citizen's personal data never reaches the server's disk in plain text: a ticket run from
intake to closure through the embedded server (a SQLite file) with the encrypting converter leaves
no phone number, name or address in any file of its data folder. The same run unencrypted does
leave them there, so the check can fail. The `temporal` CLI reads them back through the codec
server, with the token."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.converter import DataConverter

from activities.runtime.binaries import temporal_cli
from activities.runtime.codec import data_converter
from activities.runtime.keys import KeyRing
from domain.commands import ContactCitizen, GiveAnswer, RecordCallback, SignFor
from domain.models import Answer, Callback, Citizen, Satisfaction, TicketStatus
from starter.tickets import act, submit
from starter.tools.codec_server import start_codec_server
from starter.tools.server import EmbeddedServer
from tests.support.district import make_config
from tests.support.helpers import eventually, person, sample_ticket
from tests.support.processes import free_port
from worker import build_workers
from workflows.ticket import TicketWorkflow

PHONE = "13912345678"
NAME = "赵春燕"
ADDRESS = "滨河街道镇北社区幸福里7号楼"
TOKEN = "at-rest-token-0123456789"


def secrets_of_the_citizen() -> list[bytes]:
    return [PHONE.encode(), NAME.encode(), ADDRESS.encode(), json.dumps(NAME).strip('"').encode()]


async def run_ticket(tmp_path: Path, converter: DataConverter, *, keys: KeyRing | None = None) -> tuple[bytes, str]:
    """One ticket from intake to 办结 on a file-backed embedded server; returns every byte of the data
    folder once the server has stopped, and what `temporal workflow show` printed through the codec."""
    data = tmp_path / "data"
    server = EmbeddedServer(port=free_port(), data_dir=data, headless=True)
    server.start()
    shown = ""
    try:
        await server.wait_ready()
        client = await Client.connect(server.address, data_converter=converter)
        config = make_config(tmp_path / "inboxes")
        ticket = sample_ticket().model_copy(update={"citizen": Citizen(name=NAME, phone=PHONE, address=ADDRESS)})
        clerk = person(config, "cgj_sun")
        async with build_workers(client, config, departments=["cgj"], center=True):
            await submit(client, config, ticket)
            await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
            no = ticket.ticket_no
            await act(client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
            note = f"已电话联系{NAME}（{PHONE}）"  # personal data in an update's argument too
            await act(client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk, note=note))
            answer = Answer(text=f"已到{ADDRESS}清运完毕", resolved=True)
            await act(client, no, TicketWorkflow.answer, GiveAnswer(actor=clerk, answer=answer))
            callback = RecordCallback(
                actor=person(config, "liumei"), callback=Callback(resolved=True, satisfaction=Satisfaction.SATISFIED)
            )
            result = await act(client, no, TicketWorkflow.record_callback, callback)
            assert result.status is TicketStatus.CLOSED
        if keys is not None:
            shown = await show_through_codec(server.address, f"ticket-{no}", keys)
    finally:
        server.stop()
    files = sorted(p for p in data.iterdir() if p.is_file())
    assert any(p.name == "temporal.db" for p in files)
    return b"".join(p.read_bytes() for p in files), shown


async def show_through_codec(address: str, workflow_id: str, keys: KeyRing) -> str:
    """`temporal workflow show` with and without the codec server: only the token holder reads."""
    codec = await start_codec_server(keys, [], port=0, token=(TOKEN, "test"))
    try:
        base = [temporal_cli(), "workflow", "show", "--address", address, "--workflow-id", workflow_id, "-o", "json"]
        outputs = []
        for extra in ([], ["--codec-endpoint", codec.url, "--codec-auth", f"Bearer {TOKEN}"]):
            process = await asyncio.create_subprocess_exec(
                *base, *extra, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, err = await asyncio.wait_for(process.communicate(), timeout=30)
            assert process.returncode == 0, err.decode()
            outputs.append(out.decode())
    finally:
        await codec.stop()
    without, with_token = (payloads_in(json.loads(out)) for out in outputs)
    assert {p["encoding"] for p in without} == {b"binary/encrypted"}
    assert not any(PHONE.encode() in p["data"] for p in without)
    assert b"binary/encrypted" not in {p["encoding"] for p in with_token}
    return b"".join(p["data"] for p in with_token).decode()


def payloads_in(node: Any) -> list[dict[str, bytes]]:
    """The payloads of a history in JSON form, encoding and data base64-decoded. Left out: search
    attributes (never encrypted, never personal) and the SDK's own bookkeeping in a local activity's
    marker (sequence number, attempt, times; its result is a payload like any other)."""
    if isinstance(node, list):
        return [p for item in node for p in payloads_in(item)]
    if not isinstance(node, dict):
        return []
    if "metadata" in node and "encoding" in node["metadata"]:
        return [
            {"encoding": base64.b64decode(node["metadata"]["encoding"]), "data": base64.b64decode(node.get("data", ""))}
        ]
    if "markerName" in node:
        node = {k: v for k, v in node.get("details", {}).items() if k != "data"}
    return [p for key, value in node.items() if key != "searchAttributes" for p in payloads_in(value)]


async def test_the_database_holds_no_citizen_data_in_plain_text(tmp_path: Path) -> None:
    keys = KeyRing.generate()
    stored, shown = await run_ticket(tmp_path, data_converter(keys), keys=keys)

    assert len(stored) > 100_000  # the server did write its database
    for secret in secrets_of_the_citizen():
        assert secret not in stored, f"{secret.decode()!r} found in the server's files"
    assert b"binary/encrypted" in stored
    # The token holder reads it all back through the codec server.
    assert PHONE in shown and NAME in shown and ADDRESS in shown


async def test_control_the_same_run_unencrypted_leaves_the_phone_on_disk(tmp_path: Path) -> None:
    stored, _ = await run_ticket(tmp_path, data_converter(None))
    assert PHONE.encode() in stored and NAME.encode() in stored
