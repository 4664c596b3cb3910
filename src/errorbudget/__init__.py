"""errorbudget: SLOs, error budgets, burn-rate alerts and release gates."""

__version__ = "0.1.0"
