"""The TT05 record model: fonds, dossiers (hồ sơ) and documents (tài liệu), their rules and lifecycle."""
