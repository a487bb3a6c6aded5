"""Thin routers, one per domain: they parse HTTP, call ``services`` and shape the answer."""
