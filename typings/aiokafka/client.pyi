import asyncio

class AIOKafkaClient:
    def force_metadata_update(self) -> asyncio.Future[bool]: ...
