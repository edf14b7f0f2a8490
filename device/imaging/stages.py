"""The one result type of every pure image stage: the image out, whether it acted, and why."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class StageResult:
    """What a stage returns: `image` (its input when `applied` is False), a reason key and details."""

    image: np.ndarray
    applied: bool
    reason: str = ""  # "" when applied; otherwise a key saying why not, e.g. rectify.no_quad
    details: dict[str, Any] = field(default_factory=dict)
