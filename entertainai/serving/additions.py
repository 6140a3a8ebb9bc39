"""Catalogue additions that outlive the replica that took them, on storage all replicas share.

``POST /v1/items`` makes an item recommendable at once, but only in memory: a restarted
replica, one that starts during a peak, or a model promoted afterwards would not know it. The
replica that takes the request records the rows here first (one Parquet file per request,
under the registry root, local or ``s3://``), then applies them; every service applies the
recorded additions its model lacks when it starts and after every model swap.
"""

from __future__ import annotations

import io
import logging
import time
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

from entertainai.errors import Unavailable
from entertainai.fs import Location, resolve

log = logging.getLogger(__name__)

ADDITIONS_DIR = "_catalogue_additions"


class CatalogueAdditions:
    def __init__(self, root: str) -> None:
        self.location: Location = resolve(root).join(ADDITIONS_DIR)

    def record(self, items: pa.Table) -> str:
        """Store one request's rows durably; returns the file name."""
        name = f"{time.time():.6f}-{uuid.uuid4().hex}.parquet"
        buffer = io.BytesIO()
        pq.write_table(items, buffer)
        try:
            self.location.fs.create_dir(self.location.path, recursive=True)
            self.location.join(name).write_bytes(buffer.getvalue())
        except OSError as exc:
            raise Unavailable(f"cannot record new items under {self.location}: {exc}") from exc
        return name

    def tables(self) -> list[pa.Table]:
        """Every recorded request's rows, oldest first (unreadable files skipped, logged)."""
        out = []
        for name in self.location.listdir():
            if not name.endswith(".parquet"):
                continue
            try:
                out.append(pq.read_table(io.BytesIO(self.location.join(name).read_bytes())))
            except (OSError, pa.ArrowInvalid):
                log.warning("skipping unreadable catalogue addition %s", name)
        return out
