"""Errors a service reports to people and API clients: a stable code, params, a translated message."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tenants.domain.errors import DomainError

# Stable code → translated message (params are interpolated with %(name)s).
MESSAGES = {
    "not_found": _l("Not found."),
    "forbidden": _l("You do not have permission to do this."),
    "validation_failed": _l("Some fields are not valid."),
    "idempotency_key_required": _l("An Idempotency-Key header is required for this request."),
    "idempotency_key_reused": _l("This idempotency key was already used for a different request."),
    "idempotency_in_progress": _l("The same request is still being processed. Retry in a moment."),
    "business_time_too_old": _l("The transaction is older than the %(days)s days this business allows."),
    "business_time_in_future": _l("The transaction time is in the future."),
    "duplicate_phone": _l("A member with this phone number already exists."),
    "duplicate_email": _l("A member with this e-mail already exists."),
    "member_closed": _l("This membership is closed."),
    "pin_invalid": _l("The PIN is not correct."),
    "pin_locked": _l("Too many wrong PINs. The card is locked; ask a manager."),
    "no_program": _l("No loyalty program is in force on this date."),
    "invalid_program": _l("The program is not valid."),
    # Domain codes (tenants/domain/errors.py)
    "invalid_amount": _l("The amount is not valid."),
    "invalid_line": _l("A receipt line is not valid."),
    "duplicate_line": _l("Two receipt lines have the same id."),
    "unknown_tier": _l("Unknown tier."),
    "unknown_card_type": _l("Unknown card type."),
    "unknown_store": _l("Unknown store."),
    "tender_exceeds_goods": _l("Vouchers and points cannot pay more than the goods."),
    "tender_total_mismatch": _l("The payments do not add up to the amount due."),
    "card_not_honoured": _l("This merchant does not accept the member card."),
    "unknown_category": _l("Line %(line_id)s: the category “%(category)s” is not one of this business's "
                           "categories (%(categories)s)."),
    "insufficient_points": _l("Not enough points: %(available)s available, %(needed)s needed."),
    "points_payment_disabled": _l("Paying with points is not offered."),
    "points_below_minimum": _l("At least %(min_points)s points must be used."),
    "points_share_exceeded": _l("Points can pay only part of this purchase."),
    "points_not_whole_step": _l("Points must be used in whole steps of %(step_points)s points."),
    "points_no_payment_rule": _l("No points-payment rule fits this many points: at least %(min_points)s points."),
    "redemption_window_closed": _l("Points can be redeemed only during the redemption window."),
    "redemption_store_not_allowed": _l("Points can be redeemed only at the issuing store."),
    "unknown_reward": _l("Unknown reward."),
    "out_of_stock": _l("This reward is out of stock."),
    "redemption_disabled": _l("Redemption is not offered."),
    "stored_value_disabled": _l("Stored value is not offered."),
    "top_up_below_minimum": _l("The top-up is below the minimum."),
    "insufficient_balance": _l("Not enough stored value."),
    "pin_required": _l("The card PIN or the member's confirmation is required."),
    "refund_not_allowed": _l("A refund is not allowed."),
    "card_blocked": _l("This card is blocked (reported lost)."),
    "card_closed": _l("This card is closed."),
    "card_replaced": _l("This card was replaced and can no longer be used."),
    "card_expired": _l("This card has expired."),
    "card_not_lost": _l("This card was not reported lost."),
    "replacement_too_early": _l("The replacement card can be issued from %(available_on)s."),
    "identity_not_verified": _l("Verify the PIN and the member's identity first."),
    "return_member_mismatch": _l("The purchase belongs to another member."),
    "return_unknown_line": _l("The purchase has no such line."),
    "return_exceeds_purchase": _l("More cannot be returned than was bought."),
    "return_empty": _l("Nothing to return."),
    "enrolment_conditions_not_met": _l("The conditions for membership are not met."),
    "real_name_required": _l("Real-name registration is required."),
    "contact_required": _l("A mobile number or an e-mail is required."),
}

HTTP_STATUS = {
    "not_found": 404,
    "forbidden": 403,
    "idempotency_key_reused": 422,
    "idempotency_in_progress": 409,
    "duplicate_phone": 409,
    "duplicate_email": 409,
    "insufficient_points": 422,
    "insufficient_balance": 422,
    "out_of_stock": 409,
    "pin_locked": 423,
}


class ServiceError(Exception):
    """A refusal to show to a person or an API client; nothing was changed."""

    def __init__(self, code: str, /, fields: dict[str, str] | None = None, **params):
        super().__init__(code)
        self.code = code
        self.params = params
        self.fields = fields or {}

    @classmethod
    def from_domain(cls, err: DomainError) -> ServiceError:
        return cls(err.code, **err.params)

    @property
    def status(self) -> int:
        return HTTP_STATUS.get(self.code, 422)

    @property
    def message(self) -> str:
        template = MESSAGES.get(self.code)
        if template is None:
            return _("The request was refused (%(code)s).", code=self.code)
        try:
            return str(template) % {k: v for k, v in self.params.items()} if self.params else str(template)
        except (KeyError, TypeError, ValueError):
            return str(template)

    def to_json(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.params:
            body["params"] = {k: (v if isinstance(v, int | str | bool | None) else str(v))
                              for k, v in self.params.items()}
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}
