"""Audit from the server or from exported files: read histories, decode them with the client's
data converter (so encrypted payloads are readable only with the key), build the timeline, follow
child and linked workflows, export bundles with digests, check them, and replay histories against
the current workflow code."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent as PbEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter, default
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from activities.runtime.codec import PayloadDecryptionError
from domain.audit import HistoryEvent, Step, masked, only_item, timeline
from domain.calendar import CHINA_TZ
from domain.campaign import workflow_id_for_campaign
from domain.enterprise import workflow_id_for_enterprise
from domain.intake import workflow_id_for
from domain.meeting import workflow_id_for_meeting
from domain.whistle import workflow_id_for_whistle

PREFIXES = ("ticket-", "whistle-", "meeting-", "campaign-", "enterprise-", "report-")
GUESSES = (workflow_id_for, workflow_id_for_whistle, workflow_id_for_meeting, workflow_id_for_campaign)
MANIFEST = "manifest.json"
HISTORY_SUFFIX = ".history.json"


class AuditError(Exception):
    """A workflow that cannot be found, or a bundle that cannot be read; the message says which."""

    code = 2  # the CLI's exit code: bad input


class UndecodableHistory(AuditError):
    """A payload this process cannot decode (a key its ring lacks, tampered data): an audit that
    would credit people's actions to nobody is refused whole, naming the workflow, event and key."""

    code = 1


class _Undecodable(Exception):
    """(Inside decoding) a payload that cannot be decoded, before the workflow is known."""


@dataclass
class Run:
    workflow_id: str
    run_id: str
    workflow_type: str
    history: WorkflowHistory


@dataclass
class Story:
    """A workflow's timeline over all its runs, and the workflows it is linked to."""

    workflow_id: str
    workflow_type: str
    runs: list[Run]
    steps: list[Step]
    linked: list[Story] = field(default_factory=list)

    def all(self) -> list[Story]:
        return [self, *(s for linked in self.linked for s in linked.all())]


# ----- finding and reading histories -----


async def resolve(client: Client, name: str) -> str:
    """A workflow id from what the user typed: a workflow id, or a ticket, whistle, meeting,
    campaign number or an enterprise id."""
    if name.startswith(PREFIXES):
        return name
    for guess in (*GUESSES, workflow_id_for_enterprise):
        candidate = guess(name)
        if await _exists(client, candidate):
            return candidate
    raise AuditError(f"找不到 {name}：不是已知的工单、吹哨、会商、专项或企业编号")


async def _exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
        return True
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise


async def runs_of(client: Client, workflow_id: str) -> list[Run]:
    """Every run of the workflow (continue-as-new makes several), oldest first."""
    try:
        listed = [wf async for wf in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    except RPCError as err:
        if err.status is not RPCStatusCode.UNIMPLEMENTED:  # a server without visibility: the latest run
            raise
        listed = []
    if not listed:
        try:  # visibility lags a moment behind a new workflow: ask for the latest run itself
            described = await client.get_workflow_handle(workflow_id).describe()
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                raise AuditError(f"找不到工作流 {workflow_id}") from None
            raise
        listed = [described]
    runs = []
    for wf in sorted(listed, key=lambda w: w.start_time):
        history = await client.get_workflow_handle(workflow_id, run_id=wf.run_id).fetch_history()
        runs.append(Run(workflow_id, wf.run_id, wf.workflow_type, history))
    return runs


async def _decode(converter: DataConverter, payloads: Iterable[Payload]) -> Any:
    items = list(payloads)
    if not items:
        return None
    try:
        return await converter.decode(items)
    except Exception as err:  # e.g. a key this ring lacks: no story at all rather than a wrong one
        raise _Undecodable(str(err)) from err


async def _failure(converter: DataConverter, failure: Failure) -> str:
    copy = Failure()
    copy.CopyFrom(failure)
    try:
        return str(await converter.decode_failure(copy))
    except PayloadDecryptionError as err:
        raise _Undecodable(str(err)) from err
    except Exception:
        return failure.message


async def decoded_events(converter: DataConverter, history: WorkflowHistory) -> list[HistoryEvent]:
    """The events the timeline reads, with their payloads decoded."""
    out: list[HistoryEvent] = []
    timers: dict[str, str] = {}
    for e in history.events:
        kind = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
        base: dict[str, Any] = {"event_id": e.event_id, "at": e.event_time.ToDatetime(tzinfo=UTC), "kind": kind}
        try:
            event = await _event(converter, e, kind, base, timers)
        except _Undecodable as err:
            raise UndecodableHistory(
                f"审计中止：{history.workflow_id} 第 {e.event_id} 个事件的载荷无法解码，未导出任何内容：{err}"
            ) from None
        if event is not None:
            out.append(event)
    return out


async def _event(
    converter: DataConverter, e: PbEvent, kind: str, base: dict[str, Any], timers: dict[str, str]
) -> HistoryEvent | None:
    if e.HasField("workflow_execution_started_event_attributes"):
        started = e.workflow_execution_started_event_attributes
        return HistoryEvent(
            **base,
            name=started.workflow_type.name,
            input=await _decode(converter, started.input.payloads),
            identity=started.identity,
            attributes=_attributes(started.search_attributes.indexed_fields),
        )
    if e.HasField("workflow_execution_update_accepted_event_attributes"):
        accepted = e.workflow_execution_update_accepted_event_attributes
        request = accepted.accepted_request
        return HistoryEvent(
            **base,
            name=request.input.name,
            input=await _decode(converter, request.input.args.payloads),
            ref=request.meta.update_id,
            identity=request.meta.identity,
        )
    if e.HasField("workflow_execution_update_completed_event_attributes"):
        completed = e.workflow_execution_update_completed_event_attributes
        outcome = completed.outcome
        failure = await _failure(converter, outcome.failure) if outcome.HasField("failure") else None
        result = await _decode(converter, outcome.success.payloads) if outcome.HasField("success") else None
        return HistoryEvent(**base, ref=completed.meta.update_id, result=_single(result), failure=failure)
    if e.HasField("workflow_execution_signaled_event_attributes"):
        signaled = e.workflow_execution_signaled_event_attributes
        sender = (
            signaled.external_workflow_execution.workflow_id
            if signaled.HasField("external_workflow_execution")
            else None
        )
        return HistoryEvent(
            **base,
            name=signaled.signal_name,
            input=await _decode(converter, signaled.input.payloads),
            ref=sender,
            identity=signaled.identity,
        )
    if e.HasField("activity_task_scheduled_event_attributes"):
        scheduled = e.activity_task_scheduled_event_attributes
        return HistoryEvent(
            **base,
            name=scheduled.activity_type.name,
            input=await _decode(converter, scheduled.input.payloads),
            ref=str(e.event_id),
        )
    if e.HasField("activity_task_started_event_attributes"):
        task_started = e.activity_task_started_event_attributes
        return HistoryEvent(
            **base,
            ref=str(task_started.scheduled_event_id),
            attempt=task_started.attempt,
            identity=task_started.identity,
        )
    if e.HasField("activity_task_completed_event_attributes"):
        task_completed = e.activity_task_completed_event_attributes
        result = await _decode(converter, task_completed.result.payloads)
        return HistoryEvent(
            **base, ref=str(task_completed.scheduled_event_id), result=_single(result), identity=task_completed.identity
        )
    if e.HasField("activity_task_failed_event_attributes"):
        task_failed = e.activity_task_failed_event_attributes
        return HistoryEvent(
            **base, ref=str(task_failed.scheduled_event_id), failure=await _failure(converter, task_failed.failure)
        )
    if e.HasField("activity_task_timed_out_event_attributes"):
        timed_out = e.activity_task_timed_out_event_attributes
        return HistoryEvent(
            **base, ref=str(timed_out.scheduled_event_id), failure=await _failure(converter, timed_out.failure)
        )
    if e.HasField("marker_recorded_event_attributes"):
        return await _local_activity(converter, e, base)
    if e.HasField("timer_started_event_attributes"):
        timer = e.timer_started_event_attributes
        # A timer's summary says what it is for (挂账月度提醒, 暂停计时上限, 派遣受阻 …).
        summary = await _decode(converter, [e.user_metadata.summary]) if e.HasField("user_metadata") else None
        what = summary[0] if isinstance(summary, list) and summary and isinstance(summary[0], str) else None
        timers[timer.timer_id] = f"{what + '，' if what else ''}计时 {timer.start_to_fire_timeout.ToTimedelta()}"
        return None
    if e.HasField("timer_fired_event_attributes"):
        return HistoryEvent(**base, name=timers.get(e.timer_fired_event_attributes.timer_id))
    if e.HasField("upsert_workflow_search_attributes_event_attributes"):
        fields = e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        return HistoryEvent(**base, attributes=_attributes(fields))
    if e.HasField("start_child_workflow_execution_initiated_event_attributes"):
        child = e.start_child_workflow_execution_initiated_event_attributes
        return HistoryEvent(**base, name=child.workflow_type.name, ref=child.workflow_id)
    if e.HasField("signal_external_workflow_execution_initiated_event_attributes"):
        signal = e.signal_external_workflow_execution_initiated_event_attributes
        return HistoryEvent(**base, name=signal.signal_name, ref=signal.workflow_execution.workflow_id)
    if e.HasField("workflow_task_failed_event_attributes"):
        wft_failed = e.workflow_task_failed_event_attributes
        return HistoryEvent(**base, failure=await _failure(converter, wft_failed.failure))
    if e.HasField("workflow_execution_completed_event_attributes"):
        result = await _decode(converter, e.workflow_execution_completed_event_attributes.result.payloads)
        return HistoryEvent(**base, result=_single(result))
    if e.HasField("workflow_execution_failed_event_attributes"):
        failure = await _failure(converter, e.workflow_execution_failed_event_attributes.failure)
        return HistoryEvent(**base, failure=failure)
    if e.HasField("workflow_execution_continued_as_new_event_attributes"):
        continued = e.workflow_execution_continued_as_new_event_attributes
        return HistoryEvent(**base, result=f"新一轮运行 {continued.new_execution_run_id}")
    if e.HasField("workflow_execution_terminated_event_attributes"):
        terminated = e.workflow_execution_terminated_event_attributes
        return HistoryEvent(**base, failure=f"{terminated.reason}（{terminated.identity}）")
    if kind in ("WORKFLOW_EXECUTION_CANCELED", "WORKFLOW_EXECUTION_TIMED_OUT"):
        return HistoryEvent(**base)
    return None


async def _local_activity(converter: DataConverter, e: PbEvent, base: dict[str, Any]) -> HistoryEvent | None:
    a = e.marker_recorded_event_attributes
    if a.marker_name != "core_local_activity":
        return None
    data = a.details.get("data")
    info = default().payload_converter.from_payloads(list(data.payloads))[0] if data and data.payloads else {}
    name = info.get("activity_type") if isinstance(info, dict) else None
    failure = await _failure(converter, a.failure) if a.HasField("failure") else None
    return HistoryEvent(**base, name=name, failure=failure)


def _attributes(fields: Mapping[str, Payload]) -> dict[str, Any]:
    # Search attributes are never encrypted (and never carry personal data).
    return {k: default().payload_converter.from_payloads([v])[0] for k, v in fields.items()}


def _single(values: Any) -> Any:
    return values[0] if isinstance(values, list) and len(values) == 1 else values


# ----- the story -----


async def story_of(
    client: Client, workflow_id: str, *, reveal: bool = False, item: str | None = None, depth: int = 2
) -> Story:
    """A workflow's timeline over all its runs, with its child and linked workflows (`depth` levels)."""
    seen: set[str] = set()
    return await _story(client, workflow_id, reveal, item, depth, seen)


async def _story(client: Client, workflow_id: str, reveal: bool, item: str | None, depth: int, seen: set[str]) -> Story:
    seen.add(workflow_id)
    runs = await runs_of(client, workflow_id)
    steps = await steps_of(client.data_converter, runs, reveal)
    if item:
        steps = only_item(steps, item)
    story = Story(workflow_id, runs[0].workflow_type, runs, steps)
    if depth > 0:
        for target in dict.fromkeys(link for step in steps for link in step.links):
            if target not in seen:
                try:
                    story.linked.append(await _story(client, target, reveal, None, depth - 1, seen))
                except UndecodableHistory:
                    raise
                except AuditError:
                    continue  # a linked workflow that was never started (e.g. a refused child)
    return story


async def steps_of(converter: DataConverter, runs: list[Run], reveal: bool) -> list[Step]:
    steps: list[Step] = []
    for run in runs:
        events = await decoded_events(converter, run.history)
        if not reveal:
            events = [e.model_copy(update={"input": masked(e.input), "result": masked(e.result)}) for e in events]
        steps += timeline(run.workflow_id, run.workflow_type, events, run.run_id)
    return steps


# ----- export and check -----


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


async def export(client: Client, names: list[str], out: Path, *, reveal: bool = False) -> tuple[Path, str]:
    """Each workflow (and its linked ones) as stored on the server (one `.history.json` per run, its
    payloads as stored: encrypted), its timeline (masked unless `reveal`), and a manifest of SHA-256
    digests. Returns the manifest and its own digest (to be recorded apart from the bundle)."""
    if (out / MANIFEST).exists():
        raise AuditError(f"{out} 已有审计包（{MANIFEST}），请换一个空目录")
    stories: dict[str, Story] = {}
    for name in names:
        story = await story_of(client, await resolve(client, name), reveal=reveal)
        for part in story.all():
            stories.setdefault(part.workflow_id, part)
    # Only once every name is found and decoded: a bad one writes nothing. Revealed personal data is
    # for the exporting user alone (folders 0700, files 0600), whatever the umask.
    mode = 0o700 if reveal else 0o777
    out.mkdir(mode=mode, parents=True, exist_ok=True)
    if reveal:
        out.chmod(mode)
    workflows = []
    for story in stories.values():
        folder = out / _safe(story.workflow_id)
        folder.mkdir(mode=mode, exist_ok=True)
        for run in story.runs:
            _write(folder / f"{_safe(run.run_id)}{HISTORY_SUFFIX}", run.history.to_json(), reveal)
        steps = [s.model_dump(mode="json") for s in story.steps]
        _write(folder / "timeline.json", json.dumps(steps, ensure_ascii=False, indent=1), reveal)
        _write(folder / "timeline.md", timeline_markdown(story), reveal)
        workflows.append(
            {
                "workflow_id": story.workflow_id,
                "workflow_type": story.workflow_type,
                "runs": [r.run_id for r in story.runs],
            }
        )
    files = {p.relative_to(out).as_posix(): sha256(p) for p in sorted(out.rglob("*")) if p.is_file()}
    manifest = {
        "created_at": datetime.now(UTC).isoformat(),
        "namespace": client.namespace,
        "personal_data": "revealed" if reveal else "masked",
        "workflows": workflows,
        "files": files,
    }
    path = out / MANIFEST
    _write(path, json.dumps(manifest, ensure_ascii=False, indent=1), reveal)
    return path, sha256(path)


def _write(path: Path, text: str, private: bool) -> None:
    """A bundle's file; a private one is created 0600, never readable by others even for a moment."""
    if not private:
        path.write_text(text, encoding="utf-8")
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


@dataclass
class Check:
    changed: list[str]
    missing: list[str]
    extra: list[str]
    manifest_digest: str

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)


def check(bundle: Path) -> Check:
    """Every file the manifest lists has its digest; no file is missing or added."""
    path = bundle / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files: dict[str, str] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AuditError(f"{path}: 不是可读的审计包清单（{err}）") from None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise AuditError(f"{path}: 不是可读的审计包清单（files 应为“文件名: SHA-256”的映射）")
    if any(Path(name).is_absolute() or ".." in Path(name).parts for name in files):
        raise AuditError(f"{path}: 不是可读的审计包清单（files 中有审计包之外的路径）")
    present = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {MANIFEST}
    changed = [name for name, digest in files.items() if name in present and sha256(bundle / name) != digest]
    missing = sorted(set(files) - present)
    extra = sorted(present - set(files))
    return Check(changed=sorted(changed), missing=missing, extra=extra, manifest_digest=sha256(path))


def timeline_markdown(story: Story) -> str:
    lines = [
        f"# {story.workflow_id}（{story.workflow_type}）",
        "",
        "| 时间 | 执行人 | 动作 | 详情 | 结果 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for step in story.steps:
        cells = [
            step.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
            step.actor.label,
            step.action,
            step.detail,
            step.outcome,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"


# ----- replay -----


@dataclass
class Replayed:
    workflow_id: str
    run_id: str
    source: str
    error: str | None


def histories_in(paths: list[Path]) -> list[tuple[WorkflowHistory, str]]:
    """Histories from exported bundles, folders or single files (Temporal's JSON form)."""
    found: list[tuple[WorkflowHistory, str]] = []
    for path in paths:
        files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for file in files:
            if file.name in (MANIFEST, "timeline.json"):
                continue
            try:
                raw = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise AuditError(f"{file}: 不是可读的历史文件（{err}）") from None
            if not isinstance(raw, dict) or not raw.get("events"):
                raise AuditError(f"{file}: 不是工作流历史（缺少 events）")
            found.append((WorkflowHistory.from_json(_workflow_id_of(file, raw), raw), str(file)))
    return found


def _workflow_id_of(file: Path, raw: dict[str, Any]) -> str:
    started = raw["events"][0].get("workflowExecutionStartedEventAttributes", {})
    if started.get("workflowId"):
        return str(started["workflowId"])
    # An exported bundle keeps each workflow's runs in a folder named after it.
    return file.parent.name if file.name.endswith(HISTORY_SUFFIX) else file.stem


async def replay(replayer: Replayer, histories: list[tuple[WorkflowHistory, str]]) -> list[Replayed]:
    results = []
    for history, source in histories:
        try:
            await replayer.replay_workflow(history)
            error = None
        except Exception as err:
            error = f"{type(err).__name__}: {err}"
        results.append(Replayed(history.workflow_id, history.run_id, source, error))
    return results


async def server_histories(client: Client, query: str | None, limit: int) -> list[tuple[WorkflowHistory, str]]:
    found = []
    async for wf in client.list_workflows(query or None, limit=limit):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        found.append((history, f"{wf.id}/{wf.run_id}"))
    return found
