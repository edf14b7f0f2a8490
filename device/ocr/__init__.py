"""device/ocr."""
