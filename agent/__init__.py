"""The box's sync agent: outbox passes, tus uploads, signed receipts, retention and USB export."""
