"""The provider_batches table: a batch is recorded right after submission and finished once collected.

A restarted run reads the open batches back, so it polls the batch it already paid for instead of resubmitting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from judge.providers.base import utcnow
from judge.store.db import read_connection
from judge.store.pending import OPEN_BATCH_COLUMNS, open_provider_batches
from judge.store.rows import ProviderBatchRow
from judge.store.writer import StoreWriter

TABLE = "provider_batches"


@dataclass
class BatchRow:
    batch_id: str
    run_id: str
    stage: str
    model_key: str
    model: str
    provider: str
    status: str
    item_ids: list[str]
    submitted_at: datetime
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    updated_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    error: str | None = None

    def as_row(self) -> dict[str, Any]:
        return ProviderBatchRow(
            batch_id=self.batch_id,
            run_id=self.run_id,
            stage=self.stage,
            model_key=self.model_key,
            model=self.model,
            provider=self.provider,
            status=self.status,
            item_ids=json.dumps(self.item_ids),
            n_items=len(self.item_ids),
            input_file_id=self.input_file_id,
            output_file_id=self.output_file_id,
            error_file_id=self.error_file_id,
            submitted_at=self.submitted_at,
            updated_at=self.updated_at,
            finished_at=self.finished_at,
            error=self.error,
        ).as_row()


def save(writer: StoreWriter, row: BatchRow) -> None:
    """Write the row now, in its own transaction (not buffered: a kill must not lose a batch id)."""
    row.updated_at = utcnow()
    writer.write_now(TABLE, [row.as_row()])


def open_batches(db_path: Path, run_id: str, stage: str, model_key: str) -> list[BatchRow]:
    """Batches of this run, stage and model that were submitted but whose results are not stored yet."""
    with read_connection(db_path) as con:
        rows = open_provider_batches(con, run_id, stage, model_key)
    out = []
    for r in rows:
        row = dict(zip(OPEN_BATCH_COLUMNS, r, strict=True))
        ids = row["item_ids"]
        row["item_ids"] = [str(i) for i in (json.loads(ids) if isinstance(ids, str) else list(ids or []))]
        out.append(BatchRow(**row))
    return out
