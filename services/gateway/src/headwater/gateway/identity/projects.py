"""Project membership: who may enter a project (superusers enter every one) and managing its members."""

from __future__ import annotations

import uuid

from sqlalchemy import RowMapping

from headwater.common.errors import NotFound
from headwater.common.logging import get_logger
from headwater.common.principal import Principal
from headwater.gateway.adapters.db.identity import IdentityStore
from headwater.gateway.identity.policy import sees_every_project
from headwater.gateway.identity.users import Users, is_user

log = get_logger(__name__)


class Projects:
    def __init__(self, store: IdentityStore, users: Users) -> None:
        self.store = store
        self.users = users

    async def may_enter(self, principal: Principal, project_id: str) -> bool:
        if sees_every_project(principal.role):
            return True
        return is_user(principal) and await self.store.is_member(project_id, uuid.UUID(principal.subject))

    async def members(self, project_id: str) -> list[RowMapping]:
        return await self.store.members(project_id)

    async def add_member(self, project_id: str, user_id: str) -> RowMapping:
        user = await self.users.get(user_id)
        await self.store.add_member(project_id, user["id"])
        log.info("project_member_added", project_id=project_id, user_id=user_id)
        return user

    async def remove_member(self, project_id: str, user_id: str) -> None:
        user = await self.users.get(user_id)
        if not await self.store.remove_member(project_id, user["id"]):
            raise NotFound(f"user {user_id} is not a member of project {project_id}")
        log.info("project_member_removed", project_id=project_id, user_id=user_id)
