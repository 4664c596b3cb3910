"""The HTTP surface: JSON API under /api/v1, the server-rendered dashboard, /metrics."""
