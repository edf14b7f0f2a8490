"""The one exception tree of SoHoa Box, each error with its process exit code and HTTP status.

                                   exit HTTP
    SohoaError                      70  500  internal error (a bug, or an unexpected state)
    ├── ConfigError                 78  500  configuration is wrong; systemd must not restart
    ├── InputError                  65  400  bad input from a person or a file; nothing changed
    │   ├── ValidationError         65  400  TT05 field values that break the rules (per field)
    │   └── UnsupportedFileError    65  400  a file that is not an image or PDF we can take
    ├── NotFoundError               66  404  the dossier, document, page or user does not exist
    ├── StateError                  69  409  the action is not allowed in the object's state
    ├── StorageError                74  507  the disk failed us (I/O error, fsync failed)
    │   └── StorageFullError        73  507  free space is below the configured floor
    ├── IntegrityError              76  500  stored data does not match its hash or the database
    └── ProcessingError             75  500  some pages could not be processed (each recorded)

Exit codes follow sysexits.h where one fits. The CLI prints `str(error)` on one line and
exits with `error.exit_code`; the web UI shows `error.message_vi`, or in English
`error.english_for_people()` (None: a generic text, since the message is for the log only).

`http_status` is the one answer of every HTTP server of ours (web UI, hub, capture service) to
an error that reaches it; a subclass elsewhere may set its own (the hub's busy upload: 423, a
camera that is not there: 503). A StorageError is 507 like a full disk, not 500: a write that
failed with the OS's "no space left" (blobs, files, the hub's store) arrives as a plain
StorageError, and clients retry any 5xx alike.
"""

from __future__ import annotations

import re

# A file path in a message (after a space, quote, bracket, '=' or ':'): such a message is
# for the log, never for a person on the network.
_PATH = re.compile(r"(?:^|[\s'\"(=:])(?:~?/|[A-Za-z]:\\)\S")


class SohoaError(Exception):
    """Base of every error the box raises on purpose."""

    exit_code = 70
    http_status = 500  # the status an HTTP server of ours answers with (see the table above)
    # Whether the English message is written so that the person who caused the error may read
    # it (bad input, a missing object, a refused move) rather than for the log only.
    for_people = False

    def __init__(self, message: str, *, message_vi: str | None = None,
                 message_en: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_vi = message_vi or message
        self.message_en = message_en

    def english_for_people(self) -> str | None:
        """English a person may be shown: `message_en` when given, else the message itself when
        this kind of error is written for people and names no file path; None otherwise."""
        if self.message_en:
            return self.message_en
        if self.for_people and not _PATH.search(self.message):
            return self.message
        return None


class ConfigError(SohoaError):
    """The configuration file or the command-line options are wrong."""

    exit_code = 78


class InputError(SohoaError):
    """Input from a person or a file is unusable; nothing was changed."""

    exit_code = 65
    http_status = 400
    for_people = True


class FieldProblem:
    """One field-level complaint, named in both languages, saying what is allowed."""

    __slots__ = ("field", "label_vi", "label_en", "problem_en", "problem_vi")

    def __init__(
        self, field: str, label_vi: str, label_en: str, problem_en: str, problem_vi: str
    ) -> None:
        self.field = field
        self.label_vi = label_vi
        self.label_en = label_en
        self.problem_en = problem_en
        self.problem_vi = problem_vi

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "label_vi": self.label_vi,
            "label_en": self.label_en,
            "problem_en": self.problem_en,
            "problem_vi": self.problem_vi,
        }

    def __repr__(self) -> str:
        return f"FieldProblem({self.field!r}, {self.problem_en!r})"


class ValidationError(InputError):
    """TT05 field values break the rules; `problems` lists each field's complaint."""

    def __init__(self, problems: list[FieldProblem], *, subject: str = "record") -> None:
        self.problems = problems
        english = "; ".join(f"{p.field} ({p.label_en}): {p.problem_en}" for p in problems)
        vietnamese = "; ".join(f"{p.label_vi}: {p.problem_vi}" for p in problems)
        for_people = "; ".join(f"{p.label_en}: {p.problem_en}" for p in problems)
        super().__init__(f"invalid {subject}: {english}", message_vi=vietnamese,
                         message_en=for_people)


class UnsupportedFileError(InputError):
    """A file that is not a readable image or PDF within our limits."""


class NotFoundError(SohoaError):
    """The named object does not exist."""

    exit_code = 66
    http_status = 404
    for_people = True


class StateError(SohoaError):
    """The action is not allowed in the object's current state."""

    exit_code = 69
    http_status = 409
    for_people = True


class StorageError(SohoaError):
    """Writing to or reading from the disk failed."""

    exit_code = 74
    http_status = 507


class StorageFullError(StorageError):
    """Free space is below the configured floor; new work is refused before any write."""

    exit_code = 73


class ProcessingError(SohoaError):
    """Some pages could not be processed; each page records its own reason."""

    exit_code = 75


class IntegrityError(SohoaError):
    """Stored bytes do not match their hash, or the database and the blobs disagree."""

    exit_code = 76
