"""Loads a packaged `.tflite` model on LiteRT and runs it: one runner that every on-device model shares.

The interpreter comes from `ai_edge_litert` (LiteRT, the successor of tflite-runtime and
the only one that works under numpy 2); `tflite_runtime` is the fallback for old images.
A runner is not picklable (it owns native state): build one per process with `load_model`,
which caches it, and pass model *names* to worker processes, never runners.
"""

from __future__ import annotations

import functools

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import ConfigError, IntegrityError
from device.files import sha256_file

log = logging.getLogger(__name__)

DATA_PACKAGE = "device.models"
DATA_DIR = "data"

class ModelUnavailable(ConfigError):
    """No LiteRT runtime is installed, or a model file is missing: the installation is wrong.

    A ConfigError (exit 78) because restarting the service cannot fix it.
    """

@dataclass(frozen=True)
class TensorSpec:
    """One model input or output: its shape, element type and affine quantisation (scale 0 = none)."""

    name: str
    index: int
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float
    zero_point: int

    @property
    def quantised(self) -> bool:
        return self.scale != 0.0 and np.issubdtype(self.dtype, np.integer)

def interpreter_class() -> type:
    """Return the LiteRT Interpreter class, preferring ai_edge_litert over tflite_runtime."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter  # type: ignore[no-redef]
        except ImportError:
            raise ModelUnavailable(
                "no LiteRT runtime: install 'ai-edge-litert>=2.3,<3' "
                "(or tflite-runtime on Python 3.11 with numpy<2)",
                message_vi="Thiếu thư viện LiteRT để chạy mô hình trên máy (ai-edge-litert).",
            ) from None
    return Interpreter

def model_path(file_name: str) -> Path:
    """Path of a model file shipped in `device/models/data/`."""
    return Path(str(resources.files(DATA_PACKAGE).joinpath(DATA_DIR, file_name)))

def _spec(detail: dict[str, Any]) -> TensorSpec:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return TensorSpec(
        name=str(detail["name"]),
        index=int(detail["index"]),
        shape=tuple(int(v) for v in detail["shape"]),
        dtype=np.dtype(detail["dtype"]),
        scale=float(scale),
        zero_point=int(zero_point),
    )

class ModelRunner:
    """A loaded model: its file, SHA-256, tensor specs, and `run(array) -> list[np.ndarray]`."""

    def __init__(self, path: Path, *, num_threads: int = 1, expected_sha256: str | None = None):
        if not path.is_file():
            raise ModelUnavailable(
                f"model file missing: {path}",
                message_vi=f"Thiếu tệp mô hình: {path.name}",
            )
        self.path = path
        self.sha256 = sha256_file(path)
        if expected_sha256 is not None and self.sha256 != expected_sha256.lower():
            raise IntegrityError(f"model {path.name} has sha256 {self.sha256}, expected {expected_sha256}")
        # One thread by default: the worker pool already runs one process per core.
        self._interpreter = interpreter_class()(model_path=str(path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self.inputs = tuple(_spec(d) for d in self._interpreter.get_input_details())
        self.outputs = tuple(_spec(d) for d in self._interpreter.get_output_details())
        log.info("loaded model %s sha256=%s threads=%d", path.name, self.sha256, num_threads)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.inputs[0].shape

    @property
    def input_dtype(self) -> np.dtype:
        return self.inputs[0].dtype

    def run(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """Run one inference. Float inputs are quantised for integer models; outputs come back as
        float32 (dequantised when the model is quantised), in the model's output order."""
        if len(arrays) != len(self.inputs):
            raise ValueError(f"{self.path.name} takes {len(self.inputs)} inputs, got {len(arrays)}")
        for spec, array in zip(self.inputs, arrays):
            self._interpreter.set_tensor(spec.index, _to_input(array, spec))
        self._interpreter.invoke()
        # get_tensor copies, so results stay valid across later calls.
        return [_from_output(self._interpreter.get_tensor(s.index), s) for s in self.outputs]

def _to_input(array: np.ndarray, spec: TensorSpec) -> np.ndarray:
    array = np.asarray(array)
    if array.shape != spec.shape:
        if array.shape == spec.shape[1:]:
            array = array[np.newaxis]  # a single example without the batch axis
        else:
            raise ValueError(f"input {spec.name} wants shape {spec.shape}, got {array.shape}")
    if spec.quantised and np.issubdtype(array.dtype, np.floating):
        info = np.iinfo(spec.dtype)
        array = np.clip(np.round(array / spec.scale + spec.zero_point), info.min, info.max)
    return np.ascontiguousarray(array, dtype=spec.dtype)

def _from_output(array: np.ndarray, spec: TensorSpec) -> np.ndarray:
    if spec.quantised:
        return (array.astype(np.float32) - spec.zero_point) * np.float32(spec.scale)
    return array.astype(np.float32, copy=False) if array.dtype == np.float64 else array

@functools.lru_cache(maxsize=8)
def load_model(file_name: str, *, num_threads: int = 1, expected_sha256: str | None = None) -> ModelRunner:
    """The process-wide runner for a packaged model (built once, then reused)."""
    return ModelRunner(model_path(file_name), num_threads=num_threads, expected_sha256=expected_sha256)
