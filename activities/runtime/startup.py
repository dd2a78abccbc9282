"""Checks made before a worker or the CLI starts work: the server knows our search attributes."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain import search_attributes as sa


class SetupError(Exception):
    """The Temporal server is not set up for this project; the message says what to do."""


async def check_search_attributes(client: Client) -> None:
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = [key.name for key in sa.ALL if key.name not in response.custom_attributes]
    if missing:
        raise SetupError(
            f"namespace '{client.namespace}' lacks search attributes {', '.join(missing)}; "
            "start the server with `hotline server`, or register them (see README)"
        )


async def ensure_search_attributes(client: Client) -> None:
    """Register whichever of our search attributes the server lacks (a data folder made by an older
    release keeps its own list; the server's start-up flags add only to a new one)."""
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in sa.ALL
        if key.name not in response.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )


async def ensure_namespace(client: Client, namespace: str, retention: timedelta = timedelta(days=7)) -> bool:
    """The namespace on the client's server, registered if missing (True then), and usable: a new
    one takes a moment to reach the server's frontends."""
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        return False
    except RPCError as err:
        if err.status is not RPCStatusCode.NOT_FOUND:
            raise
    request = RegisterNamespaceRequest(
        namespace=namespace,
        description="hotline demo: kept apart from real work",
        workflow_execution_retention_period=Duration(seconds=int(retention.total_seconds())),
    )
    try:
        await client.workflow_service.register_namespace(request)
    except RPCError as exc:  # not `err`: mypy would keep the narrowing of the `except` above
        if exc.status is not RPCStatusCode.ALREADY_EXISTS:  # registered meanwhile by another demo
            raise
    deadline = time.monotonic() + 60
    while True:
        try:
            await client.workflow_service.count_workflow_executions(CountWorkflowExecutionsRequest(namespace=namespace))
            return True
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
