"""Projects of the OLake paths `/api/v1/project/{project_id}/...`: membership decides who may use one.

Any project id string is valid (the OLake UI hard-codes "123"); a project exists once it has a member. Every
new user joins the default project (`HEADWATER_GATEWAY_DEFAULT_PROJECT`, "123"); superusers enter every
project and manage memberships. The guard checks membership for every route whose path has `project_id`, and
passes the project on in the principal.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, put
from litestar.params import FromPath

from headwater.gateway.dialects.deps import Caller, Identities
from headwater.gateway.dialects.olake.auth_routes import envelope
from headwater.gateway.identity.policy import sees_every_project


class ProjectMemberController(Controller):
    path = "/api/v1/project/{project_id:str}/members"
    tags = ["Projects (OLake)"]

    @get("/", summary="Members of the project (ids and emails to superusers only)")
    async def list_members(
        self, project_id: FromPath[str], identity: Identities, principal: Caller
    ) -> Response[Any]:
        rows = await identity.projects.members(project_id)
        if sees_every_project(principal.role):
            members = [
                {
                    "id": str(r["id"]),
                    "username": r["username"],
                    "email": r["email"],
                    "user_type": r["user_type"],
                }
                for r in rows
            ]
        else:  # a member sees who else is in the project, not what would address or target them
            members = [{"username": r["username"], "user_type": r["user_type"]} for r in rows]
        return envelope("project members", members)

    @put("/{user_id:str}", opt={"permission": "manage_users"}, summary="Add a user to the project")
    async def add(
        self, project_id: FromPath[str], user_id: FromPath[str], identity: Identities
    ) -> Response[Any]:
        user = await identity.projects.add_member(project_id, user_id)
        return envelope("member added", {"id": str(user["id"]), "username": user["username"]})

    @delete(
        "/{user_id:str}",
        opt={"permission": "manage_users"},
        status_code=200,
        summary="Remove a user from the project",
    )
    async def remove(
        self, project_id: FromPath[str], user_id: FromPath[str], identity: Identities
    ) -> Response[Any]:
        await identity.projects.remove_member(project_id, user_id)
        return envelope("member removed", None)


ROUTES = [ProjectMemberController]
