"""Voice-agent events: the event model, SLIs over events, and their sources (#12)."""
