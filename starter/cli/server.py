"""`hotline server` (the embedded Temporal server with its codec server beside it) and
`hotline codec-server` (the codec server alone)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
import typer

from activities.runtime.keys import KeyRingError, load_key_ring
from starter.cli import common
from starter.tools.codec_server import DEFAULT_PORT, CodecServer, codec_lines, start_codec_server, ui_origins
from starter.tools.server import keys_for_server, stop_event


def server_command(
    port: int = typer.Option(7233, help="gRPC 端口"),
    ui_port: int = typer.Option(8233, help="Web UI 端口"),
    data_dir: Path = typer.Option(Path(".hotline"), help="数据目录（SQLite 文件与日志）"),
    codec_port: int = typer.Option(DEFAULT_PORT, help="载荷编解码服务端口（0：任选空闲端口）"),
) -> None:
    """启动内置 Temporal 服务（SQLite 持久化、注册搜索属性、Web UI、载荷编解码服务），Ctrl-C 停止。"""
    from starter.tools.server import EmbeddedServer, port_in_use, port_open

    embedded = EmbeddedServer(port=port, ui_port=ui_port, data_dir=data_dir)
    if port_open(embedded.ip, port):  # said before anything else starts, naming who holds it
        common.fail(port_in_use(embedded.ip, port))
    try:
        keys, created = keys_for_server()
    except KeyRingError as err:
        common.fail(str(err))

    async def go() -> None:
        codec: CodecServer | None = None
        try:
            if keys is not None:
                try:
                    codec = await start_codec_server(keys, ui_origins(ui_port), port=codec_port)
                except OSError as err:
                    common.fail(f"载荷编解码服务端口 {codec_port}：{err.strerror}（可用 --codec-port 另选）")
                except KeyRingError as err:
                    common.fail(str(err))
                embedded.codec_endpoint = codec.url
            try:
                embedded.start()
            except OSError as err:
                common.fail(str(err))
            stop = stop_event()
            await embedded.wait_ready()
            common.console.print(f"Temporal 服务已启动：{embedded.address}；Web UI：{embedded.ui_url}")
            common.console.print(f"数据：{data_dir / 'temporal.db'}；日志：{embedded.log_path}（Ctrl-C 停止）")
            if created is not None:
                common.console.print(f"已生成载荷加密密钥 {created}（权限 0600；请备份，丢失后数据无法解密）")
            if codec is None:
                common.console.print("载荷未加密（HOTLINE_ENCRYPTION=off）")
            else:
                for line in codec_lines(codec.url, codec.token_source):
                    common.console.print(line)
            process = embedded.process
            assert process is not None  # started above
            exited = asyncio.create_task(asyncio.to_thread(process.wait))
            await asyncio.wait([exited, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        finally:
            embedded.stop()
            if codec is not None:
                await codec.stop()
        common.console.print("Temporal 服务已停止")

    common.run(go())


def codec_server_command(
    port: int = typer.Option(DEFAULT_PORT, help="端口"),
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    origin: list[str] = typer.Option([], help="允许的 Web UI 来源（可多次给出；默认本机 8233 端口）"),
    ui_port: int = typer.Option(8233, help="默认来源所用的 Web UI 端口"),
    log_format: str | None = common.LogFormatOption,
) -> None:
    """单独运行载荷编解码服务（供 temporal server start-dev --ui-codec-endpoint 与 temporal CLI 使用）。"""
    common.log_as(log_format)
    try:
        keys = load_key_ring()
    except KeyRingError as err:
        common.fail(str(err))
    if keys is None:
        common.fail("HOTLINE_ENCRYPTION=off：载荷未加密，无需编解码服务")
    origins = origin or ui_origins(ui_port)

    async def go() -> None:
        try:
            codec = await start_codec_server(keys, origins, port=port, host=host)
        except OSError as err:
            common.fail(f"端口 {port}：{err.strerror}")
        except KeyRingError as err:
            common.fail(str(err))
        stop = stop_event()
        common.console.print(f"载荷编解码服务已启动：{codec.url}；允许来源：{', '.join(origins)}（Ctrl-C 停止）")
        common.console.print(f"令牌见 {codec.token_source}；持令牌者登录：{codec.login_hint}")
        structlog.get_logger().info("codec server started", url=codec.url, origins=origins)
        try:
            await asyncio.wait([codec.task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        finally:
            await codec.stop()

    common.run(go())
