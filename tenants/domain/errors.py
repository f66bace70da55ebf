"""The one error type the domain raises, with a stable code the app translates.

A ``DomainError`` means "this business request breaks a rule of the program" (not a bug):
services turn it into a 4xx answer or a form error, looking the ``code`` up in the message
catalogue and filling in ``params``. Codes are part of the public API: never rename one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Every code the domain may raise, so the app can check its catalogue is complete.
ERROR_CODES: frozenset[str] = frozenset(
    {
        # amounts and lines
        "invalid_amount",
        "invalid_line",
        "duplicate_line",
        "unknown_tier",
        "unknown_card_type",
        "unknown_store",
        # purchase pricing and tenders
        "tender_exceeds_goods",
        "tender_total_mismatch",
        "card_not_honoured",
        "unknown_category",
        # points
        "insufficient_points",
        "points_payment_disabled",
        "points_below_minimum",
        "points_share_exceeded",
        "points_not_whole_step",
        "points_no_payment_rule",
        # redemption
        "redemption_window_closed",
        "redemption_store_not_allowed",
        "unknown_reward",
        "out_of_stock",
        "redemption_disabled",
        # stored value
        "stored_value_disabled",
        "top_up_below_minimum",
        "insufficient_balance",
        "pin_required",
        "refund_not_allowed",
        # cards
        "card_blocked",
        "card_closed",
        "card_replaced",
        "card_expired",
        "card_not_lost",
        "replacement_too_early",
        "identity_not_verified",
        # returns
        "return_member_mismatch",
        "return_unknown_line",
        "return_exceeds_purchase",
        "return_empty",
        # enrolment
        "enrolment_conditions_not_met",
        "real_name_required",
        "contact_required",
    }
)


class DomainError(Exception):
    """A broken business rule: ``code`` is stable, ``params`` fill the translated message."""

    def __init__(self, code: str, /, **params: Any) -> None:
        if code not in ERROR_CODES:  # a typo here would reach users as an untranslated key
            raise ValueError(f"unknown domain error code {code!r}")
        self.code = code
        self.params: Mapping[str, Any] = dict(params)
        super().__init__(f"{code}: {self.params}" if params else code)
