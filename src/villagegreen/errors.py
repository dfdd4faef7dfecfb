"""One exception tree for the whole product.

Every error says what happened and what to do next, in one line, because the CLI prints
``str(error)`` as the whole message. Each error carries a ``disposition`` that the import and
sync loops obey:

- ``fatal``: stop, roll back, exit non-zero (bad input files, a busy or incompatible store);
- ``retryable``: a transient condition (rate limit, network) that a sync loop may retry;
- ``skippable``: one bad item inside otherwise good input; it is counted and skipped.

Tree::

    VillageGreenError
    ├── InputError            bad or unsupported input (fatal)
    │   ├── UnknownFormatError
    │   └── ItemError         one malformed item inside good input (skippable)
    ├── StoreError            the DuckDB store (fatal)
    │   ├── StoreBusyError
    │   └── SchemaVersionError
    ├── ConfigError           settings and options (fatal)
    └── TransientError        network, rate limits (retryable)
"""

from __future__ import annotations

from typing import Literal

Disposition = Literal["fatal", "retryable", "skippable"]


class VillageGreenError(Exception):
    """Base of every error Village Green raises on purpose."""

    disposition: Disposition = "fatal"
    exit_code: int = 1


class InputError(VillageGreenError):
    """The input cannot be read: missing, corrupt, truncated or of the wrong kind."""

    exit_code = 2


class UnknownFormatError(InputError):
    """No connector recognises the input."""


class ItemError(InputError):
    """One item inside an otherwise readable input is malformed; it is skipped and counted."""

    disposition: Disposition = "skippable"


class StoreError(VillageGreenError):
    """The store cannot be opened or written."""

    exit_code = 3


class StoreBusyError(StoreError):
    """Another process holds the store's write lock."""


class SchemaVersionError(StoreError):
    """The store was written by a different version of the schema."""


class ConfigError(VillageGreenError):
    """An option or setting is invalid."""

    exit_code = 2


class TransientError(VillageGreenError):
    """A condition that may clear on retry (network, rate limit)."""

    disposition: Disposition = "retryable"
    exit_code = 4
