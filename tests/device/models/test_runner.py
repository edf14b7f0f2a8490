"""Tests of the shared LiteRT runner: loading, tensor specs, hashing, quantisation, clear errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from device.errors import IntegrityError
from device.models import runner as runner_mod
from device.models.palm_detection import MODEL_FILE, MODEL_SHA256
from device.models.runner import ModelRunner, ModelUnavailable, TensorSpec, model_path

pytest.importorskip("ai_edge_litert.interpreter")


def test_packaged_model_loads_with_its_hash_and_shapes():
    model = ModelRunner(model_path(MODEL_FILE))
    assert model.sha256 == MODEL_SHA256
    assert model.input_shape == (1, 192, 192, 3)
    assert model.input_dtype == np.float32
    outputs = model.run(np.zeros((192, 192, 3), np.float32))  # batch axis added for us
    assert [o.shape for o in outputs] == [(1, 2016, 18), (1, 2016, 1)]
    assert all(o.dtype == np.float32 for o in outputs)


def test_wrong_shape_and_count_are_refused():
    model = ModelRunner(model_path(MODEL_FILE))
    with pytest.raises(ValueError):
        model.run(np.zeros((100, 100, 3), np.float32))
    with pytest.raises(ValueError):
        model.run(np.zeros((192, 192, 3), np.float32), np.zeros(3, np.float32))


def test_missing_file_is_a_clear_config_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="model file missing"):
        ModelRunner(tmp_path / "nope.tflite")


def test_hash_mismatch_is_an_integrity_error():
    with pytest.raises(IntegrityError):
        ModelRunner(model_path(MODEL_FILE), expected_sha256="0" * 64)


def test_no_runtime_gives_a_clear_error(monkeypatch):
    for name in (
        "ai_edge_litert",
        "ai_edge_litert.interpreter",
        "tflite_runtime",
        "tflite_runtime.interpreter",
    ):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import name` raise ImportError
    with pytest.raises(ModelUnavailable, match="ai-edge-litert"):
        runner_mod.interpreter_class()


def test_quantised_tensors_are_scaled_both_ways():
    spec = TensorSpec("x", 0, (1, 4), np.dtype(np.int8), scale=0.5, zero_point=-10)
    q = runner_mod._to_input(np.array([0.0, 1.0, -100.0, 100.0], np.float32), spec)
    assert q.dtype == np.int8 and q.tolist() == [[-10, -8, -128, 127]]
    back = runner_mod._from_output(np.array([[-10, -8]], np.int8), spec)
    assert back.tolist() == [[0.0, 1.0]]


def test_load_model_caches_one_runner_per_process():
    assert runner_mod.load_model(MODEL_FILE) is runner_mod.load_model(MODEL_FILE)
