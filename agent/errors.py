"""The agent's errors, branches of device.errors' tree.

    SohoaError
    ├── StateError
    │   └── NotEnrolledError        69  no enrollment, or the hub refused the token (401)
    ├── InputError
    │   └── EnrollmentRefused       65  the hub refused the one-time code
    ├── IntegrityError
    │   └── ReceiptRefused          76  a receipt failed verification or names other bytes
    └── SyncUnavailable             75  the hub is unreachable or failing; try again later
        └── UploadGone              75  the hub no longer knows a tus upload (expired): recreate
"""

from __future__ import annotations

from device.errors import InputError, IntegrityError, SohoaError, StateError


class NotEnrolledError(StateError):
    """The box is not enrolled with a hub, or its token was revoked."""


class EnrollmentRefused(InputError):
    """The hub refused the enrollment code (unknown, used or expired)."""


class ReceiptRefused(IntegrityError):
    """A receipt that is unsigned, mis-signed, or about other bytes than the box sent."""


class SyncUnavailable(SohoaError):
    """A transient failure (link down, timeout, 5xx); the upload resumes later."""

    exit_code = 75


class UploadGone(SyncUnavailable):
    """The tus upload URL answers 404/410: it expired; a new upload must be created."""


class WindowClosed(SohoaError):
    """The allowed time window ended during an upload: it stops after the chunk in flight and
    resumes from there in the next window (not a failure: no back-off, no attempt counted)."""

    exit_code = 75
