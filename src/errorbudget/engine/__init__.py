"""The pure budget engine: counts and time in, budgets, burn rates, forecasts and states out.

Nothing here does I/O or imports from store, sources or surfaces.
"""
