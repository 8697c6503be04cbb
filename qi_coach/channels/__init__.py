"""Where people talk to qi-coach: the web chat, Slack and Microsoft Teams (see each module)."""
