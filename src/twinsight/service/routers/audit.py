"""``GET /api/v1/twins/{name}/audit`` and ``.../audit/verify`` (role: admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from ...govern import audit
from ..deps import RegistryDep, open_twin_handle
from ..schemas import AuditEntryOut, AuditList, AuditVerification
from ..security import AdminDep
from ._common import problems

__all__ = ["router"]

router = APIRouter(prefix="/twins/{name}/audit", tags=["audit"])


@router.get("", response_model=AuditList, responses=problems(401, 403, 404, 422, 503))
async def get_audit(
    name: str,
    registry: RegistryDep,
    _: AdminDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="newest entries to return")] = 100,
) -> AuditList:
    """The newest ``limit`` entries of the twin's audit log, oldest first."""
    handle = await open_twin_handle(registry, name)
    found = await run_in_threadpool(audit.entries, handle.twin.engine, limit=limit)
    return AuditList(twin=name, entries=[AuditEntryOut(**e.to_json()) for e in found])


@router.get("/verify", response_model=AuditVerification, responses=problems(401, 403, 404, 503))
async def verify_audit(name: str, registry: RegistryDep, _: AdminDep) -> AuditVerification:
    """Walk the twin's audit chain: intact, or the first entry edited, removed or reordered."""
    handle = await open_twin_handle(registry, name)
    report = await run_in_threadpool(audit.verify, handle.twin.engine)
    problem = report.problem
    return AuditVerification(
        twin=name,
        intact=report.intact,
        entries=report.entries,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        anchor_seq=report.anchor_seq,
        problem=None
        if problem is None
        else {"kind": problem.kind, "seq": problem.seq, "message": problem.message},
    )
