"""Steps of a ticket the server tests share: the department's clerk handles it to an answer, the
centre calls back; and what the file inboxes under a test's tmp_path hold."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client

from domain.commands import (
    ContactCitizen,
    GiveAnswer,
    RecordCallback,
    SignFor,
)
from domain.config import DistrictConfig
from domain.models import Answer, Callback, Satisfaction
from starter.tickets import act
from tests.support.helpers import person
from workflows.ticket import TicketWorkflow


def inbox(tmp_path: Path, department: str, kind: str = "tickets") -> list[dict]:
    folder = tmp_path / department / kind
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))] if folder.exists() else []


async def handle_to_answer(client: Client, config: DistrictConfig, ticket_no: str, clerk: str) -> None:
    actor = person(config, clerk)
    await act(client, ticket_no, TicketWorkflow.sign_for, SignFor(actor=actor))
    await act(client, ticket_no, TicketWorkflow.contact_citizen, ContactCitizen(actor=actor, note="已电话联系"))
    answer = Answer(text="已安排环卫车辆清运完毕", resolved=True, evidence=["photo-001.jpg"])
    await act(client, ticket_no, TicketWorkflow.answer, GiveAnswer(actor=actor, answer=answer))


async def call_back(client: Client, config: DistrictConfig, ticket_no: str, resolved: bool, satisfaction: Satisfaction):
    callback = Callback(resolved=resolved, satisfaction=satisfaction)
    return await act(
        client,
        ticket_no,
        TicketWorkflow.record_callback,
        RecordCallback(actor=person(config, "liumei"), callback=callback),
    )


def filed(folder: Path, key: str) -> list[dict]:
    """Each file's `key` in a file inbox's folder, in file-name order."""
    return [json.loads(p.read_text(encoding="utf-8"))[key] for p in sorted(folder.glob("*.json"))]


def notices(tmp_path: Path, department: str) -> list[dict]:
    """The notices a department (or "center") received."""
    return filed(tmp_path / department / "notices", "notice")


def deliveries(tmp_path: Path, department: str) -> list[dict]:
    """The tickets delivered to a department."""
    return filed(tmp_path / department / "tickets", "delivery")
