"""Internal API of retention: `POST /log_cleanup` (the gateway sums every service's counts)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.paths import QualityAlertingPaths
from headwater.common.contracts.watcher import LogCleanup, LogCleanupCounts
from headwater.quality_alerting.entrypoints.http.deps import UowFactory
from headwater.quality_alerting.service_layer import retention


class RetentionController(Controller):
    @post(QualityAlertingPaths.LOG_CLEANUP, status_code=HTTP_200_OK)
    async def log_cleanup(self, data: JSONBody[LogCleanup], uow_factory: UowFactory) -> LogCleanupCounts:
        return await retention.RETENTION.clean_up_logs(
            uow_factory(), retention_days=data.retention_days, batch_size=data.batch_size
        )
