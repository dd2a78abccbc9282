"""Checks made before a worker or the CLI starts work: the server knows our search attributes."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
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
