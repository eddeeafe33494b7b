"""The one error hierarchy of crumbgraph; the API and CLI map it to problem JSON and exit codes."""

from __future__ import annotations


class CrumbgraphError(Exception):
    """Base of every error crumbgraph raises on purpose."""

    exit_code = 1
    http_status = 500


class ConfigError(CrumbgraphError):
    """A setting is missing or malformed."""

    exit_code = 2
    http_status = 500


class IngestError(CrumbgraphError):
    """Input that cannot be ingested. The message names file, row, field and value."""

    exit_code = 2
    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.row = row
        self.field = field
        self.value = value


class StoreError(CrumbgraphError):
    """A graph store failed."""

    exit_code = 1
    http_status = 500


class StoreUnavailable(StoreError):
    """The store cannot be reached or refused our credentials."""

    exit_code = 3
    http_status = 503


class NotFound(StoreError):
    """A node, run or other record does not exist."""

    exit_code = 1
    http_status = 404


class DetectorError(CrumbgraphError):
    """A detector was given parameters or a projection it cannot work with."""

    exit_code = 1
    http_status = 422


class InvalidRequest(CrumbgraphError):
    """A request with an invalid value, e.g. a cursor the API did not issue (HTTP 400)."""

    exit_code = 2
    http_status = 400


class Conflict(CrumbgraphError):
    """A request that conflicts with what is stored, e.g. a forbidden case transition (HTTP 409)."""

    exit_code = 2
    http_status = 409
