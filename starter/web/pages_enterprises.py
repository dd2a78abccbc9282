"""红色服务团: an enterprise's two lists (服务清单 and 成效清单) as `hotline enterprise lists` writes
them (domain/enterprise_lists.py): the enterprise's contact sees its own, a department the items it
is responsible for, the team, the centre and the leaders every enterprise with the summary."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from domain.enterprise import EnterpriseRecord
from domain.enterprise_lists import lists_by_unit, results_list, service_list, summarize, summary_table
from domain.models import Role
from domain.tables import Table
from starter.enterprises import all_enterprises, view_enterprise
from starter.tickets import ActionFailed
from starter.web.pages import Forbidden, client_of, config_of, render, signed_in, unit_of, workflow_link

router = APIRouter(include_in_schema=False)


@router.get("/enterprises", response_class=HTMLResponse)
async def enterprises(request: Request) -> Response:
    viewer = signed_in(request)
    client = client_of(request)
    now = datetime.now(UTC)
    summary: Table | None = None
    sections: list[tuple[str, list[Table], str | None]] = []  # (heading, tables, Web UI link)
    if viewer.is_(Role.ENTERPRISE):
        title = "本企业两张清单"
        records: list[EnterpriseRecord] = []
        with contextlib.suppress(ActionFailed):
            records.append(await view_enterprise(client, viewer.enterprise or ""))
    elif viewer.is_(Role.CLERK):
        unit = unit_of(viewer, config_of(request))
        title = f"{unit} 负责的企业事项"
        service, results = lists_by_unit(await all_enterprises(client), now).get(unit, (None, None))
        sections = [(unit, [t for t in (service, results) if t is not None], None)]
        records = []
    elif viewer.is_(Role.SERVICE_TEAM) or viewer.of_centre:
        title = "红色服务团：企业两张清单"
        records = await all_enterprises(client)
        if records:
            summary = summary_table({r.enterprise.name: summarize(r, now) for r in records})
    else:
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）无权查看企业清单")
    for record in records:
        link = workflow_link(request, f"enterprise-{record.enterprise.id}")
        heading = f"{record.enterprise.name}（{record.enterprise.id}）· {record.status.value}"
        sections.append((heading, [service_list(record, now), results_list(record)], link))
    return render(request, "enterprises.html", title=title, summary=summary, sections=sections, refresh=None)
