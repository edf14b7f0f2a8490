"""On-device neural models: one shared LiteRT runner and a module per model that decodes its output."""

from device.models.runner import ModelRunner, ModelUnavailable, load_model, model_path

__all__ = ["ModelRunner", "ModelUnavailable", "load_model", "model_path"]
