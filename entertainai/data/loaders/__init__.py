"""Turn outside data into an EntertainAI dataset: ``load(source, out)``.

Sources:

* ``movielens:PATH``: an unpacked MovieLens 100K, 1M or 20M/25M/latest directory;
* ``csv:PATH`` / ``parquet:PATH``: interaction logs, one file or a directory of files;
* ``demo`` / ``demo:N_USERS``: synthetic data with planted structure.

Everything is written through :class:`DatasetWriter`, so a failed load leaves nothing behind.
"""

from __future__ import annotations

import logging

from entertainai.data.dataset import DatasetWriter, Manifest
from entertainai.data.loaders.movielens import load_movielens
from entertainai.data.loaders.tabular import BadRows, load_log
from entertainai.errors import InputError

logger = logging.getLogger(__name__)

SOURCE_FORMS = ("movielens:PATH", "csv:PATH", "parquet:PATH", "demo", "demo:N_USERS")

__all__ = ["SOURCE_FORMS", "load", "load_log", "load_movielens", "parse_source"]


def parse_source(source: str) -> tuple[str, str]:
    """Split ``source`` into (scheme, argument); raises for anything but :data:`SOURCE_FORMS`."""
    scheme, _, argument = source.partition(":")
    if scheme == "demo" or (scheme in ("movielens", "csv", "parquet") and argument):
        return scheme, argument
    raise InputError(
        f"unknown data source {source!r}; expected one of: {', '.join(SOURCE_FORMS)}",
        location="source",
    )


def load(
    source: str,
    out: str,
    *,
    skip_bad_rows: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    column_map: dict[str, str] | None = None,
    event_type: str = "rating",
    timestamp_unit: str = "s",
) -> Manifest:
    """Load ``source`` (see :data:`SOURCE_FORMS`) into a new dataset at ``out``.

    Malformed rows raise an :class:`InputError` naming file and line, unless
    ``skip_bad_rows``: then they are dropped and counted in the manifest's ``skipped_rows``.
    ``column_map``, ``event_type`` and ``timestamp_unit`` apply to csv and parquet logs.
    """
    scheme, argument = parse_source(source)
    if scheme not in ("csv", "parquet") and column_map:
        raise InputError("only csv: and parquet: sources take a column map", location="column_map")
    if scheme == "demo":
        return _demo(argument, out, overwrite=overwrite, progress=progress)
    with DatasetWriter(out, source=source, overwrite=overwrite) as writer:
        bad = BadRows(writer, skip=skip_bad_rows)
        if scheme == "movielens":
            load_movielens(argument, writer, bad=bad, progress=progress)
        else:
            load_log(
                scheme,
                argument,
                writer,
                bad=bad,
                column_map=column_map,
                event_type=event_type,
                timestamp_unit=timestamp_unit,
                progress=progress,
            )
    assert writer.manifest is not None  # set on a clean exit
    logger.info("loaded %s into %s: %s", source, out, writer.manifest.counts)
    return writer.manifest


def _demo(argument: str, out: str, *, overwrite: bool, progress: bool) -> Manifest:
    # Imported here: the generator is only needed for demo data.
    from entertainai.data.synthetic import DemoConfig, generate

    if not argument:
        return generate(out, DemoConfig(), overwrite=overwrite, progress=progress)
    try:
        n_users = int(argument)
    except ValueError:
        n_users = 0
    if n_users <= 0:
        raise InputError(f"{argument!r} is not a positive number of users", location="demo")
    return generate(out, DemoConfig(n_users=n_users), overwrite=overwrite, progress=progress)
