"""The operator's web UI: a Flask app (`web_ui.app.create_app`) with one blueprint per area."""
