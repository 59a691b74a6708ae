"""Sensors in Postgres: a data source's sensor row (its `job.changed` version, its cron switched off, its last
run) and the objects it has seen, each recorded once per version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from headwater.common.db.repository import Repository
from headwater.ingestion.adapters.db.tables import sensor, sensor_object
from headwater.ingestion.domain.sensors import Seen, SensorState


class Sensors(Repository):
    async def get(self, data_source_id: int, *, lock: bool = False) -> SensorState | None:
        stmt = select(
            sensor.c.data_source_id, sensor.c.version, sensor.c.cron_disabled, sensor.c.last_run_at
        ).where(sensor.c.data_source_id == data_source_id)
        return await self.first(stmt.with_for_update() if lock else stmt, SensorState)

    async def change(self, data_source_id: int, *, cron_disabled: bool) -> SensorState:
        """Create or change the sensor row, one version further (what its next `job.changed` carries)."""
        stmt = pg_insert(sensor).values(data_source_id=data_source_id, version=1, cron_disabled=cron_disabled)
        stmt = stmt.on_conflict_do_update(
            index_elements=[sensor.c.data_source_id],
            set_={"version": sensor.c.version + 1, "cron_disabled": cron_disabled, "updated_at": func.now()},
        ).returning(sensor.c.data_source_id, sensor.c.version, sensor.c.cron_disabled, sensor.c.last_run_at)
        row = (await self.write(stmt)).mappings().one()
        return SensorState(**row)

    async def ran(self, data_source_id: int, at: datetime) -> None:
        await self.write(
            pg_insert(sensor)
            .values(data_source_id=data_source_id, last_run_at=at)
            .on_conflict_do_update(index_elements=[sensor.c.data_source_id], set_={"last_run_at": at})
        )

    async def seen(self, data_source_id: int, prefix: str) -> dict[str, Seen]:
        s = sensor_object.c
        rows = await self.conn.execute(
            select(s.object_key, s.etag, s.size, s.stored_item_id).where(
                s.data_source_id == data_source_id, s.object_key.startswith(prefix, autoescape=True)
            )
        )
        return {
            r.object_key: Seen(key=r.object_key, etag=r.etag, size=r.size, stored_item_id=r.stored_item_id)
            for r in rows
        }

    async def record(self, data_source_id: int, seen: Seen) -> bool:
        """Record `seen` as the version of its object this sensor took; False when it (that same version) was
        recorded already, by a run racing this one. Waits for a racing run's transaction on the same object."""
        values = {
            "data_source_id": data_source_id,
            "object_key": seen.key,
            "etag": seen.etag,
            "size": seen.size,
            "stored_item_id": seen.stored_item_id,
        }
        stmt = pg_insert(sensor_object).values(**values)
        changed = (sensor_object.c.etag.is_distinct_from(stmt.excluded.etag)) | (
            sensor_object.c.size != stmt.excluded.size
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[sensor_object.c.data_source_id, sensor_object.c.object_key],
            set_={
                "etag": stmt.excluded.etag,
                "size": stmt.excluded.size,
                "stored_item_id": stmt.excluded.stored_item_id,
                "seen_at": func.now(),
            },
            where=changed,
        ).returning(sensor_object.c.object_key)
        return (await self.write(stmt)).first() is not None

    async def link(self, data_source_id: int, key: str, stored_item_id: int) -> None:
        await self.write(
            update(sensor_object)
            .where(sensor_object.c.data_source_id == data_source_id, sensor_object.c.object_key == key)
            .values(stored_item_id=stored_item_id)
        )
