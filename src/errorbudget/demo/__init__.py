"""``errorbudget demo``: the simulated contact center behind the fake Genesys Cloud API,
collected into a store (``world``), its incidents as timeline annotations (``incidents``),
and the demo's config (``config.yaml``, seed 000's SLOs)."""
