"""Exclusions that count, for tests that need one: an exclusion is a proposal until an
approver who did not propose it approves it (see errorbudget.exclusions)."""

from __future__ import annotations

from typing import Any

from errorbudget.app import App
from errorbudget.exclusions import ExclusionProposal
from errorbudget.model import Exclusion


def approved_exclusion(
    app: App, *, created_by: str, approver: str = "vera", **fields: Any
) -> Exclusion:
    """An exclusion that counts: proposed by ``created_by``, approved by an approver."""
    proposed = app.records.propose_exclusion(ExclusionProposal(proposed_by=created_by, **fields))
    return app.records.review_exclusion(
        proposed.id, decision="approve", reviewer=approver, role="approver"
    )
