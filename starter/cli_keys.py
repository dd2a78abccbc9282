"""`hotline keys …`: the key file that encrypts every payload (see docs/encryption.md).

Key material is never printed: only ids and which one is current.
"""

from __future__ import annotations

from pathlib import Path

import typer

from starter import cli_common as common
from starter.keys import KEYS_FILE_ENV, KeyRingError, create_key_file, keys_file_path, read_key_file, update_key_file

app = typer.Typer(help="载荷加密密钥：生成、轮换、启用、查看", no_args_is_help=True)

FileOption = typer.Option(None, "--file", help=f"密钥文件（默认 {KEYS_FILE_ENV} 或 .hotline/keys.json）")


def _path(flag: Path | None) -> Path:
    return flag or keys_file_path()


@app.command("new")
def new_command(file: Path | None = FileOption) -> None:
    """生成新的密钥文件（权限 0600）；文件已存在时拒绝覆盖。"""
    path = _path(file)
    try:
        ring = create_key_file(path)
    except KeyRingError as err:
        common.fail(str(err))
    common.console.print(f"已生成密钥文件 {path}（当前密钥 {ring.current}）；请备份，丢失后已加密的数据无法读取")


@app.command("rotate")
def rotate_command(
    file: Path | None = FileOption,
    stage: bool = typer.Option(False, "--stage", help="只加入新密钥、暂不启用（多台机器先分发，再 keys activate）"),
) -> None:
    """轮换：加入一把新密钥并设为当前密钥；旧密钥保留，仍可解密旧数据。"""
    path = _path(file)
    try:
        ring = read_key_file(path)
        rotated = ring.rotated(activate=not stage)
        update_key_file(path, rotated)
    except KeyRingError as err:
        common.fail(str(err))
    added = next(k for k in rotated.keys if k not in ring.keys)
    state = f"未启用（当前仍为 {rotated.current}）" if stage else "已设为当前密钥"
    common.console.print(f"{path}：新密钥 {added} {state}；请重启使用该文件的 worker、客户端与编解码服务")


@app.command("activate")
def activate_command(key_id: str = typer.Argument(..., help="密钥编号"), file: Path | None = FileOption) -> None:
    """把已有的一把密钥设为当前密钥（新数据用它加密）。"""
    path = _path(file)
    try:
        ring = read_key_file(path).activated(key_id)
        update_key_file(path, ring)
    except KeyRingError as err:
        common.fail(str(err))
    common.console.print(f"{path}：当前密钥为 {key_id}；请重启使用该文件的 worker、客户端与编解码服务")


@app.command("list")
def list_command(file: Path | None = FileOption) -> None:
    """列出密钥编号与当前密钥（不显示密钥内容）。"""
    path = _path(file)
    try:
        ring = read_key_file(path)
    except KeyRingError as err:
        common.fail(str(err))
    for key_id in ring.keys:
        common.console.print(f"{key_id}{'（当前）' if key_id == ring.current else ''}")
