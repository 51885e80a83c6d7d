"""Typed errors shared by the indexer and the search app."""


class ArchiveError(Exception):
    """Base of the archive's own errors."""

    code = "archive_error"
    status = 500


class BackendUnavailable(ArchiveError):
    """The index cannot be reached or read right now."""

    code = "backend_unavailable"
    status = 503


class BackendMisconfigured(BackendUnavailable):
    """The index refuses this archive's credentials or certificate: waiting will not help, a setting must change."""

    code = "backend_misconfigured"


class NotFound(ArchiveError):
    code = "not_found"
    status = 404


class BadRequest(ArchiveError):
    code = "bad_request"
    status = 400


class IndexMismatch(ArchiveError):
    """The index was built with another embedder or schema than the one configured."""

    code = "index_mismatch"
    status = 503


class Unauthorized(ArchiveError):
    code = "unauthorized"
    status = 401


class Forbidden(ArchiveError):
    code = "forbidden"
    status = 403


class UnsupportedType(ArchiveError):
    code = "unsupported_media_type"
    status = 415


class Unprocessable(ArchiveError):
    code = "unprocessable"
    status = 422
