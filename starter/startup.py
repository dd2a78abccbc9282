"""Checks made before a worker or the CLI starts work: the server knows our search attributes."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client

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
    missing = {key.name: key.indexed_value_type for key in sa.ALL if key.name not in response.custom_attributes}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
