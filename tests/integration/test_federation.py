"""Proof (issue 23): the centre and two departments, each worker in its own process with only its own
key file, configuration and credentials, behind the access proxy. Tickets flow as before; department
A's key cannot open B's deliveries, and A's credentials can neither poll B's queue nor list, read,
start, update, signal, query or terminate anything (each tried and refused)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetWorkflowExecutionHistoryRequest,
    ListWorkflowExecutionsRequest,
    PollActivityTaskQueueRequest,
    PollWorkflowTaskQueueRequest,
    RespondActivityTaskCompletedRequest,
    SignalWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode, TLSConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.runtime.codec import EncryptionCodec, PayloadDecryptionError, data_converter
from activities.runtime.keys import KeyRing, read_key_file, update_key_file, write_secret
from domain.commands import SignFor
from domain.config import CenterAddress, DistrictConfig, department_site
from domain.models import Satisfaction, TicketStatus
from starter.tickets import ActionFailed, act, submit, view
from starter.tools.access_proxy import RunningProxy, add_principal, read_credentials, start_access_proxy
from tests.support.district import make_config
from tests.support.helpers import eventually, person, sample_ticket
from tests.support.processes import finished, start_worker
from tests.support.replay_all import REGISTERED
from tests.support.ticket_steps import call_back, handle_to_answer, inbox
from workflows.ticket import TicketWorkflow

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS = ("cgj", "zjj")  # 城管局 (市容环卫) and 住建局 (住房保障)


@dataclass
class Federation:
    folder: Path
    config: DistrictConfig
    centre_ring: KeyRing
    rings: dict[str, KeyRing]
    api_keys: dict[str, str]
    proxy: RunningProxy
    centre: Client
    processes: list[asyncio.subprocess.Process]

    async def client_of(self, who: str, api_key: str | None = None) -> Client:
        """A client with `who`'s credentials and key ring, through the proxy, as its machine has them."""
        ring = self.centre_ring if who == "center" else self.rings[who]
        key = api_key if api_key is not None else self.api_keys[who]
        return await Client.connect(self.proxy.address, api_key=key, tls=False, data_converter=data_converter(ring))


def machine_env(key_file: Path, api_key: str, address: str) -> dict[str, str]:
    """What a machine holds: its own key file and API key; nothing of the session's keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "TEMPORAL_"))}
    return env | {
        "HOTLINE_KEYS_FILE": str(key_file),
        "TEMPORAL_API_KEY": api_key,
        "TEMPORAL_TLS": "false",
        "TEMPORAL_ADDRESS": address,
    }


@pytest.fixture(scope="module")
async def federation(
    own_dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Federation]:
    folder = tmp_path_factory.mktemp("federation")
    config = make_config(folder)
    district_file = folder / "centre" / "district.yaml"
    district_file.parent.mkdir()
    district_file.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")

    # The centre's ring holds every department's keys; each department receives only its own.
    centre_ring = KeyRing.generate(source=str(folder / "centre" / "keys.json"))
    for code in DEPARTMENTS:
        centre_ring = centre_ring.with_department(KeyRing.generate(f"{code}.k1", holder=code))
    update_key_file(folder / "centre" / "keys.json", centre_ring)
    rings = {code: centre_ring.department(code) for code in DEPARTMENTS}

    credentials = folder / "centre" / "access.json"
    api_keys = {"center": add_principal(credentials, "hotline-center")}
    for code in DEPARTMENTS:
        queue = config.department(code).task_queue
        api_keys[code] = add_principal(credentials, f"hotline-dept-{code}", code, queue)
    upstream = own_dev_env.client.service_client.config.target_host
    proxy = await start_access_proxy(upstream, read_credentials(credentials))

    processes = []
    try:
        centre_env = machine_env(folder / "centre" / "keys.json", api_keys["center"], proxy.address)
        processes.append(await start_worker(centre_env, "--center", "--config", str(district_file)))
        for code in DEPARTMENTS:
            machine = folder / code
            machine.mkdir(exist_ok=True)
            write_secret(machine / "keys.json", rings[code].to_json(), exclusive=True)
            site = department_site(config, code, CenterAddress(address=proxy.address))
            (machine / "department.yaml").write_text(
                yaml.safe_dump(site.model_dump(mode="json"), allow_unicode=True), encoding="utf-8"
            )
            env = machine_env(machine / "keys.json", api_keys[code], proxy.address)
            del env["TEMPORAL_ADDRESS"]  # the department's file names the centre's address
            processes.append(await start_worker(env, "--department-config", str(machine / "department.yaml")))
        centre = await Client.connect(
            proxy.address, api_key=api_keys["center"], tls=False, data_converter=data_converter(centre_ring)
        )
        yield Federation(folder, config, centre_ring, rings, api_keys, proxy, centre, processes)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(p.wait(), timeout=30) for p in processes]
        await proxy.stop()
        errors = [(await p.stderr.read()).decode()[-2000:] for p in processes]
        assert codes == [0] * len(processes), errors


async def flow(fed: Federation, category: str, code: str, clerk: str) -> str:
    ticket = sample_ticket(category=category)
    await submit(fed.centre, fed.config, ticket)
    await eventually(fed.centre, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR, timeout=60)
    [delivered] = [
        d["delivery"] for d in inbox(fed.folder, code) if d["delivery"]["ticket"]["ticket_no"] == ticket.ticket_no
    ]
    assert delivered["ticket"]["citizen"]["phone"] == "13812341234"  # the department's system gets it whole
    await handle_to_answer(fed.centre, fed.config, ticket.ticket_no, clerk)
    await eventually(fed.centre, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_CALLBACK, timeout=60)
    await call_back(fed.centre, fed.config, ticket.ticket_no, True, Satisfaction.SATISFIED)
    await eventually(fed.centre, ticket.ticket_no, lambda r: r.status is TicketStatus.CLOSED, timeout=60)
    return ticket.ticket_no


async def test_tickets_flow_to_each_department_whose_worker_holds_only_its_own_key(federation: Federation) -> None:
    for category, code, clerk in (("市容环卫", "cgj", "cgj_sun"), ("住房保障", "zjj", "zjj_li")):
        await flow(federation, category, code, clerk)


async def test_the_centres_calls_pass_the_proxy_with_their_errors_intact(federation: Federation) -> None:
    ticket = sample_ticket()
    assert not (await submit(federation.centre, federation.config, ticket)).duplicate
    # The server's typed error (already started) crosses the proxy: a second intake is a duplicate.
    assert (await submit(federation.centre, federation.config, ticket)).duplicate
    await eventually(federation.centre, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    # A validator's refusal reaches the caller with its reason, as without the proxy.
    with pytest.raises(ActionFailed) as refused:
        await act(
            federation.centre,
            ticket.ticket_no,
            TicketWorkflow.sign_for,
            SignFor(actor=person(federation.config, "zjj_li")),
        )
    assert "拒绝签收" in str(refused.value)


async def delivery_payloads(fed: Federation, ticket_no: str):
    history = await fed.centre.get_workflow_handle(f"ticket-{ticket_no}").fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    deliveries = [a.input.payloads[0] for a in scheduled if a.activity_type.name == "deliver_ticket"]
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    return deliveries, started


async def test_a_departments_key_cannot_open_another_departments_delivery(federation: Federation) -> None:
    ticket_no = await flow(federation, "住房保障", "zjj", "zjj_li")
    [to_zjj], started = await delivery_payloads(federation, ticket_no)
    assert to_zjj.metadata["encryption-audience"] == b"zjj"
    EncryptionCodec(federation.rings["zjj"]).decrypt(to_zjj)  # its own department opens it
    EncryptionCodec(federation.centre_ring).decrypt(to_zjj)  # and the centre
    with pytest.raises(PayloadDecryptionError, match="'zjj'"):
        EncryptionCodec(federation.rings["cgj"]).decrypt(to_zjj)  # tried and refused
    for code in DEPARTMENTS:  # the ticket's own input is the centre's alone
        with pytest.raises(PayloadDecryptionError):
            EncryptionCodec(federation.rings[code]).decrypt(started)
    assert read_key_file(federation.folder / "cgj" / "keys.json").all_keys().keys() == {"cgj.k1"}


async def refused(call, code: RPCStatusCode = RPCStatusCode.PERMISSION_DENIED) -> str:
    with pytest.raises(RPCError) as err:
        await call
    assert err.value.status == code, err.value
    return err.value.message


async def test_a_departments_credentials_reach_nothing_but_its_own_queue(federation: Federation) -> None:
    ticket_no = await flow(federation, "住房保障", "zjj", "zjj_li")
    cgj = await federation.client_of("cgj")
    service, ns = cgj.workflow_service, cgj.namespace
    zjj_queue = federation.config.department("zjj").task_queue
    own_queue = federation.config.department("cgj").task_queue
    execution = WorkflowExecution(workflow_id=f"ticket-{ticket_no}")

    poll = PollActivityTaskQueueRequest(namespace=ns, task_queue=TaskQueue(name=zjj_queue))
    assert "只能领取本单位任务队列" in await refused(service.poll_activity_task_queue(poll))
    centre_queue = PollActivityTaskQueueRequest(
        namespace=ns, task_queue=TaskQueue(name=federation.config.center.task_queue)
    )
    await refused(service.poll_activity_task_queue(centre_queue))
    other_ns = PollActivityTaskQueueRequest(namespace="another", task_queue=TaskQueue(name=own_queue))
    await refused(service.poll_activity_task_queue(other_ns))
    await refused(
        service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace=ns, task_queue=TaskQueue(name=own_queue))
        )
    )
    await refused(service.list_workflow_executions(ListWorkflowExecutionsRequest(namespace=ns)))
    await refused(
        service.get_workflow_execution_history(GetWorkflowExecutionHistoryRequest(namespace=ns, execution=execution))
    )
    await refused(service.describe_namespace(DescribeNamespaceRequest(namespace="another")))
    await refused(
        service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(namespace=ns, workflow_execution=execution, signal_name="main_answered")
        )
    )
    await refused(
        service.terminate_workflow_execution(
            TerminateWorkflowExecutionRequest(namespace=ns, workflow_execution=execution)
        )
    )
    # A task token it was not handed (here a made-up one): refused before the server sees it.
    await refused(
        service.respond_activity_task_completed(RespondActivityTaskCompletedRequest(namespace=ns, task_token=b"forged"))
    )

    handle = cgj.get_workflow_handle(f"ticket-{ticket_no}")
    await refused(handle.query(TicketWorkflow.view))
    await refused(handle.describe())
    await refused(handle.execute_update(TicketWorkflow.sign_for, SignFor(actor=person(federation.config, "zjj_li"))))
    await refused(submit(cgj, federation.config, sample_ticket()))

    # No key, or a made-up one: not even the start-up calls.
    with pytest.raises(RuntimeError, match="Unauthenticated"):
        await federation.client_of("cgj", api_key="not-a-key-of-this-district")
    # The centre's credentials still read it all.
    assert (await view(federation.centre, ticket_no)).status is TicketStatus.CLOSED


async def test_a_department_worker_refuses_the_centres_key_ring(federation: Federation) -> None:
    env = machine_env(federation.folder / "centre" / "keys.json", federation.api_keys["cgj"], federation.proxy.address)
    code, err = await finished(
        sys.executable, "worker.py", "--department-config", str(federation.folder / "cgj" / "department.yaml"), env=env
    )
    assert code == 2 and "只使用本单位的密钥文件" in err, err


async def test_every_history_made_here_replays_with_the_centres_ring(federation: Federation) -> None:
    """Last in this module: the histories with envelopes for each department replay on today's
    workflows, read with the centre's ring (which opens every department's payloads)."""
    histories = [
        await federation.centre.get_workflow_handle(e.id, run_id=e.run_id).fetch_history()
        async for e in federation.centre.list_workflows()
    ]
    assert len(histories) >= 4
    replayer = Replayer(workflows=list(REGISTERED), data_converter=data_converter(federation.centre_ring))

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    assert results.replay_failures == {}
    sealed = [
        e
        for h in histories
        for e in h.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.input.payloads[0].metadata.get("encryption-audience")
    ]
    assert sealed  # the deliveries replayed were envelopes


def certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def proxy_certificate(host: str) -> tuple[bytes, bytes, bytes]:
    """A throwaway CA, and the proxy's certificate for `host` signed by it, and its key (PEM)."""
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("hotline test CA", ca_key)
    leaf = certificate(host, leaf_key, ca, ca_key)
    pem = serialization.Encoding.PEM
    key = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return ca.public_bytes(pem), leaf.public_bytes(pem), key


async def test_the_proxy_over_tls_keeps_api_keys_off_the_wire(
    federation: Federation, own_dev_env: WorkflowEnvironment
) -> None:
    ca, chain, key = proxy_certificate("localhost")
    credentials = read_credentials(federation.folder / "centre" / "access.json")
    upstream = own_dev_env.client.service_client.config.target_host
    proxy = await start_access_proxy(upstream, credentials, host="localhost", tls=(chain, key))
    try:
        tls = TLSConfig(server_root_ca_cert=ca, domain="localhost")
        cgj = await Client.connect(proxy.address, api_key=federation.api_keys["cgj"], tls=tls)
        await refused(cgj.workflow_service.list_workflow_executions(ListWorkflowExecutionsRequest(namespace="default")))
        centre = await Client.connect(proxy.address, api_key=federation.api_keys["center"], tls=tls)
        assert [e async for e in centre.list_workflows()]
        with pytest.raises(RuntimeError):  # in clear, the TLS port does not answer
            await Client.connect(proxy.address, api_key=federation.api_keys["center"], tls=False)
    finally:
        await proxy.stop()
