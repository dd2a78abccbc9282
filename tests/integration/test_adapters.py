"""Department adapters against a real local HTTP server and a real temporary folder."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from activities.adapters.base import PermanentDeliveryError, TransientDeliveryError
from activities.adapters.file_inbox import FileInboxDepartmentAdapter, safe_key
from activities.adapters.webhook import WebhookDepartmentAdapter, sign, verify
from domain.config import FileInboxAdapter, WebhookAdapter
from domain.delivery import Notice, NoticeKind
from tests.support.deliveries import make_delivery, make_item_delivery
from tests.support.fake_department import SECRET, FakeDepartment

MakeWebhook = Callable[..., WebhookDepartmentAdapter]


def make_notice(ticket_no: str = "HX20240501001") -> Notice:
    return Notice(
        idempotency_key=f"{ticket_no}#notice-1",
        workflow_id=f"ticket-{ticket_no}",
        ticket_no=ticket_no,
        department="env",
        kind=NoticeKind.EXTENSION_APPROVED,
        text="延期 24 小时已批准",
    )


@pytest.fixture
async def webhook() -> AsyncIterator[MakeWebhook]:
    made: list[WebhookDepartmentAdapter] = []

    def make(url: str, timeout_s: float = 5.0) -> WebhookDepartmentAdapter:
        adapter = WebhookDepartmentAdapter(WebhookAdapter(type="webhook", url=url, secret=SECRET, timeout_s=timeout_s))
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.aclose()


# --- webhook ---------------------------------------------------------------------------------


async def test_webhook_delivers_signed_ticket(department: FakeDepartment, webhook: MakeWebhook) -> None:
    department.answer(201, {"reference": "ENV-7", "duplicate": False})
    delivery = make_delivery()

    receipt = await webhook(department.url).deliver(delivery)

    assert receipt.adapter == "webhook"
    assert receipt.reference == "ENV-7"
    assert receipt.duplicate is False
    [seen] = department.requests
    assert seen.path == "/hotline/inbox"
    assert seen.headers["Idempotency-Key"] == "HX20240501001#1"
    assert seen.headers["X-Hotline-Department"] == "env"
    assert seen.headers["Content-Type"] == "application/json"
    assert verify(seen.body, SECRET, seen.headers["X-Hotline-Signature"])
    payload = json.loads(seen.body)
    assert payload["type"] == "ticket"
    assert payload["delivery"]["ticket"]["ticket_no"] == "HX20240501001"
    assert payload["delivery"]["ticket"]["content"].startswith("东门路工地")
    assert "东门路工地".encode() in seen.body  # sent as UTF-8, not \u escapes


async def test_webhook_delivers_signed_enterprise_item(department: FakeDepartment, webhook: MakeWebhook) -> None:
    department.answer(200, {"reference": "ENV-ITEM-3"})

    receipt = await webhook(department.url).deliver_item(make_item_delivery())

    assert receipt.reference == "ENV-ITEM-3"
    [seen] = department.requests
    assert seen.headers["Idempotency-Key"] == "91150302MA0N8K2L3P/S2#1"
    assert seen.headers["X-Hotline-Department"] == "env"
    assert verify(seen.body, SECRET, seen.headers["X-Hotline-Signature"])
    payload = json.loads(seen.body)
    assert payload["type"] == "enterprise_item"
    assert payload["delivery"]["need"] == "焦炉煤气综合利用项目环评"
    assert payload["delivery"]["enterprise"]["name"] == "海勃湾宏达矿业有限公司"


async def test_webhook_receipt_defaults_and_duplicate(department: FakeDepartment, webhook: MakeWebhook) -> None:
    department.answer(200, "ok")
    department.answer(200, {"duplicate": True})
    adapter = webhook(department.url)
    delivery = make_delivery()

    first = await adapter.deliver(delivery)
    second = await adapter.deliver(delivery)

    assert (first.reference, first.duplicate) == ("HX20240501001#1", False)
    assert (second.reference, second.duplicate) == ("HX20240501001#1", True)
    assert department.requests[0].body == department.requests[1].body


async def test_webhook_4xx_is_permanent(department: FakeDepartment, webhook: MakeWebhook) -> None:
    department.answer(422, '{"error": "unknown category"}\n')

    with pytest.raises(PermanentDeliveryError) as info:
        await webhook(department.url).deliver(make_delivery())

    message = str(info.value)
    assert message.startswith(f"HTTP 422 from {department.url}: ")
    assert "unknown category" in message
    assert "\n" not in message


@pytest.mark.parametrize("status", [503, 500, 429, 408])
async def test_webhook_5xx_and_throttling_are_transient(
    department: FakeDepartment, webhook: MakeWebhook, status: int
) -> None:
    department.answer(status, "busy")

    with pytest.raises(TransientDeliveryError, match=f"HTTP {status}"):
        await webhook(department.url).deliver(make_delivery())


async def test_webhook_timeout_is_transient(department: FakeDepartment, webhook: MakeWebhook) -> None:
    department.answer(200, "{}", delay_s=1.5)

    with pytest.raises(TransientDeliveryError, match="timeout"):
        await webhook(department.url, timeout_s=0.3).deliver(make_delivery())


async def test_webhook_connection_refused_is_transient(webhook: MakeWebhook) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is closed now: nothing listens there.

    with pytest.raises(TransientDeliveryError, match="cannot reach"):
        await webhook(f"http://127.0.0.1:{port}/inbox").deliver(make_delivery())


async def test_webhook_notify_posts_notice(department: FakeDepartment, webhook: MakeWebhook) -> None:
    notice = make_notice()

    assert await webhook(department.url).notify(notice) is None  # type: ignore[func-returns-value]  # the test asserts notify() returns nothing

    [seen] = department.requests
    assert seen.headers["Idempotency-Key"] == notice.idempotency_key
    assert seen.headers["X-Hotline-Department"] == "env"
    assert verify(seen.body, SECRET, seen.headers["X-Hotline-Signature"])
    payload = json.loads(seen.body)
    assert payload == {"type": "notice", "notice": notice.model_dump(mode="json")}
    assert payload["notice"]["kind"] == "延期批准"


async def test_webhook_notify_rejected_is_permanent(department: FakeDepartment, webhook: MakeWebhook) -> None:
    department.answer(404, "no such route")

    with pytest.raises(PermanentDeliveryError, match="HTTP 404"):
        await webhook(department.url).notify(make_notice())


async def test_webhook_secret_from_env(department: FakeDepartment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ENV_DEPT_SECRET", "from-env")
    adapter = WebhookDepartmentAdapter(
        WebhookAdapter(type="webhook", url=department.url, secret_env="HOTLINE_ENV_DEPT_SECRET")
    )
    try:
        await adapter.deliver(make_delivery())
    finally:
        await adapter.aclose()

    [seen] = department.requests
    assert verify(seen.body, "from-env", seen.headers["X-Hotline-Signature"])


def test_webhook_missing_secret_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_MISSING_SECRET", raising=False)
    settings = WebhookAdapter(type="webhook", url="http://127.0.0.1:9/inbox", secret_env="HOTLINE_MISSING_SECRET")

    with pytest.raises(ValueError, match="HOTLINE_MISSING_SECRET"):
        WebhookDepartmentAdapter(settings)


def test_sign_and_verify() -> None:
    body = '{"a": "工单"}'.encode()
    header = sign(body, SECRET)

    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert verify(body, SECRET, header)
    assert not verify(body + b" ", SECRET, header)
    assert not verify(body, "other", header)
    assert not verify(body, SECRET, None)
    assert not verify(body, SECRET, "sha256=伪造")


# --- file inbox ------------------------------------------------------------------------------


def _inbox(tmp_path: Path) -> FileInboxDepartmentAdapter:
    return FileInboxDepartmentAdapter(FileInboxAdapter(type="file_inbox", folder=str(tmp_path / "env-inbox")))


async def test_file_inbox_writes_ticket(tmp_path: Path) -> None:
    adapter = _inbox(tmp_path)
    delivery = make_delivery()

    receipt = await adapter.deliver(delivery)

    path = tmp_path / "env-inbox" / "tickets" / "HX20240501001_round1.json"
    assert receipt.adapter == "file_inbox"
    assert receipt.reference == str(path)
    assert receipt.duplicate is False
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload["type"] == "ticket"
    assert payload["delivery"]["ticket"]["ticket_no"] == "HX20240501001"
    assert payload["delivery"]["ticket"]["citizen"]["name"] == "张三"
    assert sorted(p.name for p in path.parent.iterdir()) == ["HX20240501001_round1.json"]


async def test_file_inbox_same_key_twice_is_duplicate(tmp_path: Path) -> None:
    adapter = _inbox(tmp_path)

    first = await adapter.deliver(make_delivery())
    written = Path(first.reference).read_bytes()
    second = await adapter.deliver(make_delivery())
    third = await adapter.deliver(make_delivery(round=2))

    assert (first.duplicate, second.duplicate, third.duplicate) == (False, True, False)
    assert second.reference == first.reference
    assert Path(first.reference).read_bytes() == written
    tickets = tmp_path / "env-inbox" / "tickets"
    assert sorted(p.name for p in tickets.iterdir()) == ["HX20240501001_round1.json", "HX20240501001_round2.json"]


async def test_file_inbox_writes_an_enterprise_item_once_per_round(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)

    first = await inbox.deliver_item(make_item_delivery())
    again = await inbox.deliver_item(make_item_delivery())
    reopened = await inbox.deliver_item(make_item_delivery(round=2))

    assert (first.duplicate, again.duplicate, reopened.duplicate) == (False, True, False)
    files = sorted((tmp_path / "env-inbox" / "items").glob("*.json"))
    assert [f.name for f in files] == ["91150302MA0N8K2L3P%2FS2_round1.json", "91150302MA0N8K2L3P%2FS2_round2.json"]
    assert json.loads(files[1].read_text(encoding="utf-8"))["delivery"]["round"] == 2


async def test_file_inbox_writes_notice(tmp_path: Path) -> None:
    adapter = _inbox(tmp_path)
    notice = make_notice()

    await adapter.notify(notice)
    await adapter.notify(notice)

    notices = tmp_path / "env-inbox" / "notices"
    [path] = list(notices.iterdir())
    assert path.name == "HX20240501001_roundnotice-1.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {"type": "notice", "notice": notice.model_dump(mode="json")}
    assert not (tmp_path / "env-inbox" / "tickets").exists()


async def test_file_inbox_os_error_is_transient(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the inbox folder should be")
    adapter = FileInboxDepartmentAdapter(FileInboxAdapter(type="file_inbox", folder=str(blocker)))

    with pytest.raises(TransientDeliveryError, match="cannot write"):
        await adapter.deliver(make_delivery())


def test_safe_key_keeps_paths_inside_the_folder() -> None:
    assert safe_key("HX1#3") == "HX1_round3"
    assert "/" not in safe_key("../../etc/passwd#1")
