"""The `hotline` CLI as a subprocess against a test's server and configuration."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from temporalio.client import Client

from domain.config import DistrictConfig
from worker import build_workers


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    env: dict[str, str]
    cwd: Path

    async def __call__(self, *args: str) -> Result:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "starter.cli.app",
            *args,
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        return Result(process.returncode or 0, out.decode(), err.decode())


async def cli_for(client: Client, config: DistrictConfig, tmp_path: Path) -> AsyncIterator[Cli]:
    """The CLI as a process with this configuration, and workers for it in this process."""
    config_file = tmp_path / "district.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    env = {
        **os.environ,
        "HOTLINE_CONFIG": str(config_file),
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "COLUMNS": "200",
    }
    async with build_workers(client, config, departments=[d.code for d in config.departments], center=True):
        yield Cli(env=env, cwd=Path(__file__).resolve().parents[2])
