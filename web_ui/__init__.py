"""web_ui."""
