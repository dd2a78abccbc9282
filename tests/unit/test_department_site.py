"""A department's own configuration (单位配置) and credentials: cut from the district file with only
its own part, loaded alone by its worker, refused with one line naming the field; the access
proxy's credentials file keeps only digests and refuses an exposed file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollActivityTaskQueueRequest,
    RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskFailedRequest,
)
from typer.testing import CliRunner

from activities.runtime.keys import KeyRing, write_secret
from activities.runtime.settings import ConfigError, load_config, load_department_site
from domain.config import CenterAddress, DepartmentSite, department_site
from starter.cli.access import app as access_app
from starter.tools.access_proxy import (
    POLL_ACTIVITY,
    WORKFLOW_SERVICE,
    AccessError,
    AccessProxy,
    Credentials,
    Principal,
    Refused,
    add_principal,
    read_credentials,
)

ROOT = Path(__file__).resolve().parents[2]
CENTRE = CenterAddress(address="hotline-access.example.gov:7243")


def test_a_departments_part_holds_its_own_people_and_nothing_of_the_rest() -> None:
    config = load_config()
    site = department_site(config, "zjj", CENTRE)
    assert site.department == config.department("zjj")
    assert site.people and {p.department for p in site.people} == {"zjj"}
    dumped = yaml.safe_dump(site.model_dump(mode="json"), allow_unicode=True)
    assert "cgj" not in dumped and "catalogue" not in dumped and "zhangli" not in dumped
    with pytest.raises(KeyError):
        department_site(config, "nosuch", CENTRE)


def test_a_site_naming_another_departments_person_or_a_bad_address_is_refused(tmp_path: Path) -> None:
    config = load_config()
    raw = department_site(config, "zjj", CENTRE).model_dump(mode="json")
    raw["people"].append(next(p for p in config.model_dump(mode="json")["people"] if p["id"] == "cgj_sun"))
    path = tmp_path / "zjj.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_department_site(path)
    assert str(refused.value).startswith(f"{path}: people.") and "not a clerk of zjj" in str(refused.value)

    raw = department_site(config, "zjj", CENTRE).model_dump(mode="json") | {"center": {"address": "no port"}}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"center\.address"):
        load_department_site(path)
    assert DepartmentSite.model_validate(department_site(config, "cgj", CENTRE).model_dump()).department.code == "cgj"


def test_the_worker_refuses_a_bad_department_file_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "dept.yaml"
    bad.write_text("district: 海勃湾区\ncenter: {address: 'x:1'}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "worker.py", "--department-config", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    assert f"{bad}: department" in done.stderr


def test_access_commands_write_a_departments_file_and_keys(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "zjj" / "department.yaml"
    made = runner.invoke(
        access_app, ["department-config", "zjj", "--center-address", "10.0.0.5:7243", "--out", str(out)]
    )
    assert made.exit_code == 0, made.output
    site = load_department_site(out)
    assert site.department.code == "zjj" and site.center.address == "10.0.0.5:7243"
    unknown = runner.invoke(access_app, ["department-config", "xyz", "--center-address", "a:1", "--out", "x.yaml"])
    assert unknown.exit_code == 2 and "unknown department 'xyz'" in unknown.output
    bad = runner.invoke(access_app, ["department-config", "zjj", "--center-address", "nowhere", "--out", "x.yaml"])
    assert bad.exit_code == 2 and "--center-address" in bad.output

    credentials, key_file = tmp_path / "access.json", tmp_path / "zjj" / "api-key"
    added = runner.invoke(
        access_app,
        [
            "add-key",
            "hotline-dept-zjj",
            "--department",
            "zjj",
            "--credentials",
            str(credentials),
            "--out",
            str(key_file),
        ],
    )
    assert added.exit_code == 0, added.output
    api_key = key_file.read_text().strip()
    assert os.stat(key_file).st_mode & 0o777 == 0o600 and os.stat(credentials).st_mode & 0o777 == 0o600
    assert api_key not in credentials.read_text()  # only its digest is kept
    principal = read_credentials(credentials).who(api_key)
    assert principal is not None and principal.task_queue == "hotline-dept-zjj"
    again = runner.invoke(
        access_app, ["add-key", "hotline-dept-zjj", "--credentials", str(credentials), "--out", str(tmp_path / "k2")]
    )
    assert again.exit_code == 2 and "exists already" in again.output


def test_an_exposed_or_broken_credentials_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "access.json"
    add_principal(path, "hotline-center")
    path.chmod(0o644)
    with pytest.raises(AccessError, match="chmod 600"):
        read_credentials(path)
    path.chmod(0o600)
    path.write_text(json.dumps({"principals": [{"name": "x", "key_sha256": "short"}]}))
    with pytest.raises(AccessError, match=r"principals\.0\.key_sha256"):
        read_credentials(path)


async def test_a_task_token_is_answerable_only_by_the_principal_it_was_handed_to() -> None:
    # Async, as `serve_proxy` makes the proxy: its gRPC channel belongs to the running event loop
    # (a sync test failed in the full suite once an earlier test had closed the main thread's loop).
    zjj = Principal("hotline-dept-zjj", "zjj", "hotline-dept-zjj")
    cgj = Principal("hotline-dept-cgj", "cgj", "hotline-dept-cgj")
    proxy = AccessProxy("127.0.0.1:1", Credentials(namespace="district", by_digest={}))
    proxy.issued[b"token-of-zjj"] = zjj.name  # as the proxy notes it from zjj's poll response
    failed = RespondActivityTaskFailedRequest(task_token=b"token-of-zjj").SerializeToString()
    beat = RecordActivityTaskHeartbeatRequest(task_token=b"token-of-zjj").SerializeToString()
    proxy.check(zjj, WORKFLOW_SERVICE + "RespondActivityTaskFailed", failed)
    proxy.check(zjj, WORKFLOW_SERVICE + "RecordActivityTaskHeartbeat", beat)
    for method, request in (("RespondActivityTaskFailed", failed), ("RecordActivityTaskHeartbeat", beat)):
        with pytest.raises(Refused, match="只能答复发给本单位的任务"):
            proxy.check(cgj, WORKFLOW_SERVICE + method, request)
    own = PollActivityTaskQueueRequest(namespace="district", task_queue=TaskQueue(name="hotline-dept-cgj"))
    proxy.check(cgj, POLL_ACTIVITY, own.SerializeToString())
    with pytest.raises(Refused):
        proxy.check(cgj, WORKFLOW_SERVICE + "RespondActivityTaskFailedById", b"")
    proxy.check(Principal("hotline-center"), WORKFLOW_SERVICE + "TerminateWorkflowExecution", b"")  # the centre


def test_the_centres_worker_refuses_a_departments_key_file(tmp_path: Path) -> None:
    department_file = tmp_path / "zjj-keys.json"
    write_secret(department_file, KeyRing.generate("zjj.k1", holder="zjj").to_json(), exclusive=True)
    done = subprocess.run(
        [sys.executable, "worker.py", "--center"],
        cwd=ROOT,
        env={**os.environ, "HOTLINE_KEYS_FILE": str(department_file)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "承办单位 zjj 的密钥文件" in done.stderr, done.stderr
