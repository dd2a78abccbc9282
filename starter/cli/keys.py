"""`hotline keys …`: the key file that encrypts every payload (see docs/encryption.md).

Key material is never printed: only ids and which one is current. The centre's file also holds
each department's keys (`department-new`, `rotate --department`); `export-department` writes the one
file a department's machine receives, holding only that department's keys.
"""

from __future__ import annotations

from pathlib import Path

import typer

from activities.runtime.keys import (
    DEPARTMENT_CODE,
    KEYS_FILE_ENV,
    KeyRing,
    KeyRingError,
    create_key_file,
    keys_file_path,
    read_key_file,
    update_key_file,
    write_secret,
)
from starter.cli import common

app = typer.Typer(help="载荷加密密钥：生成、轮换、启用、查看", no_args_is_help=True)

FileOption = typer.Option(None, "--file", help=f"密钥文件（默认 {KEYS_FILE_ENV} 或 .hotline/keys.json）")


DepartmentOption = typer.Option(None, "--department", help="承办单位代码：操作该单位的密钥（默认：中心的密钥）")


def _path(flag: Path | None) -> Path:
    return flag or keys_file_path()


def _code(code: str) -> str:
    if not DEPARTMENT_CODE.fullmatch(code):
        common.fail(f"department: '{code}' is not a department code (lower-case letters, digits, '_')")
    return code


def _centre_ring(path: Path) -> KeyRing:
    ring = read_key_file(path)
    if ring.holder is not None:
        raise KeyRingError(
            f"{path}: department '{ring.holder}''s key file: its keys are made and rotated at the centre "
            f"(hotline keys rotate --department {ring.holder}, then export-department)"
        )
    return ring


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
    department: str | None = DepartmentOption,
) -> None:
    """轮换：加入一把新密钥并设为当前密钥；旧密钥保留，仍可解密旧数据。"""
    path = _path(file)
    try:
        ring = _centre_ring(path)  # a department's keys change at the centre, then are exported again
        if department is None:
            own = ring
            rotated = ring.rotated(activate=not stage)
            update_key_file(path, rotated)
        else:
            own = _centre_ring(path).department(_code(department))
            rotated = own.rotated(activate=not stage)
            update_key_file(path, ring.with_department(rotated))
    except KeyRingError as err:
        common.fail(str(err))
    added = next(k for k in rotated.keys if k not in own.keys)
    state = f"未启用（当前仍为 {rotated.current}）" if stage else "已设为当前密钥"
    common.console.print(f"{path}：新密钥 {added} {state}；请重启使用该文件的 worker、客户端与编解码服务")


@app.command("activate")
def activate_command(
    key_id: str = typer.Argument(..., help="密钥编号"),
    file: Path | None = FileOption,
    department: str | None = DepartmentOption,
) -> None:
    """把已有的一把密钥设为当前密钥（新数据用它加密）。"""
    path = _path(file)
    try:
        ring = _centre_ring(path)
        if department is None:
            ring = ring.activated(key_id)
        else:
            ring = ring.with_department(_centre_ring(path).department(_code(department)).activated(key_id))
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
    if ring.holder:
        common.console.print(f"承办单位 {ring.holder} 的密钥文件（仅含本单位的密钥）")
    for key_id in ring.keys:
        common.console.print(f"{key_id}{'（当前）' if key_id == ring.current else ''}")
    for code, own in sorted(ring.departments.items()):
        listed = "、".join(f"{k}{'（当前）' if k == own.current else ''}" for k in own.keys)
        common.console.print(f"承办单位 {code}：{listed}")


@app.command("department-new")
def department_new_command(
    code: str = typer.Argument(..., help="承办单位代码"), file: Path | None = FileOption
) -> None:
    """为一个承办单位生成它自己的密钥（加入中心的密钥文件）：此后发给该单位的载荷只有它和中心能解密。"""
    path = _path(file)
    try:
        ring = _centre_ring(path)
        if _code(code) in ring.departments:
            raise KeyRingError(f"{path}: department '{code}' already has keys (rotate with --department {code})")
        added = KeyRing.generate(f"{code}.k1", source=str(path), holder=code)
        update_key_file(path, ring.with_department(added))
    except KeyRingError as err:
        common.fail(str(err))
    common.console.print(
        f"{path}：承办单位 {code} 的密钥 {code}.k1 已生成；请重启中心的 worker，"
        f"再用 hotline keys export-department {code} --out 文件 导出给该单位"
    )


@app.command("export-department")
def export_department_command(
    code: str = typer.Argument(..., help="承办单位代码"),
    out: Path = typer.Option(..., "--out", help="写入的文件（权限 0600），交给该单位的 worker"),
    file: Path | None = FileOption,
) -> None:
    """导出一个承办单位的密钥文件：只含该单位自己的密钥（它读不到中心和其他单位的载荷）。"""
    path = _path(file)
    try:
        own = _centre_ring(path).department(_code(code))
        write_secret(out, own.to_json(), exclusive=False)
    except KeyRingError as err:
        common.fail(str(err))
    common.console.print(f"已导出承办单位 {code} 的密钥文件 {out}（{len(own.keys)} 把密钥，当前 {own.current}）")


@app.command("codec-token")
def codec_token_command(
    code: str = typer.Argument(..., help="承办单位代码"),
    out: Path = typer.Option(..., "--out", help="写入的文件（权限 0600）"),
) -> None:
    """写出一个承办单位登录编解码服务的令牌：它只能解密发给本单位的载荷。"""
    from starter.tools.codec_server import codec_token, department_token  # the server's imports are heavier

    try:
        token, _ = codec_token()
        write_secret(out, department_token(token, _code(code)) + "\n", exclusive=False)
    except KeyRingError as err:
        common.fail(str(err))
    common.console.print(f"已写出承办单位 {code} 的编解码令牌 {out}")
