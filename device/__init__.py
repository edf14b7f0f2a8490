"""The core library of SoHoa Box: records, storage, capture, imaging, OCR and archive formats."""

__version__ = "0.1.0"
