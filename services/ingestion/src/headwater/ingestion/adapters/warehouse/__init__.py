"""The destination warehouse: Postgres tables of datasets, their quarantine tables and the loaded-files ledger."""

from headwater.ingestion.adapters.warehouse.copy_format import to_copy_csv
from headwater.ingestion.adapters.warehouse.postgres import (
    HIDDEN_COLUMNS,
    PostgresWarehouse,
    quote_ident,
)

__all__ = [
    "HIDDEN_COLUMNS",
    "PostgresWarehouse",
    "quote_ident",
    "to_copy_csv",
]
