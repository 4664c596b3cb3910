"""``errorbudget demo``: a month of realistic contact-center counts, its budgets and a gate."""
