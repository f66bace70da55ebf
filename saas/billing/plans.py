"""The plans Huiyuan sells, their limits, the trial and the grace period: the one place to change them.

Prices are monthly, in fen (CNY minor units). A limit of ``None`` means unlimited. The Stripe ids are
ours to choose: ``flask billing sync-catalogue`` creates the product and the recurring plan (a Plan id
works wherever Stripe expects a Price id, Checkout included) for every self-serve plan, so the same ids
exist in test and live mode and nothing per plan has to be configured in the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

TRIAL_DAYS = 14  # a new tenant's free trial, from sign-up
GRACE_DAYS = 7  # past_due: everything still works (with a banner) this long, then read-only
CURRENCY = "cny"
SALES_EMAIL = "sales@huiyuan.example"  # Enterprise is sold by contact

LIMITED = ("stores", "members", "staff")  # what a plan limits, in the order the billing page shows


@dataclass(frozen=True)
class Limits:
    stores: int | None
    members: int | None
    staff: int | None  # staff accounts, the owner and pending invitations included

    def of(self, kind: str) -> int | None:
        return getattr(self, kind)


@dataclass(frozen=True)
class Plan:
    key: str
    name: object  # lazy translated string
    summary: object
    limits: Limits
    monthly_fen: int | None = None  # None: not sold on line (trial, enterprise)
    self_serve: bool = False  # bought through Stripe Checkout
    stripe_product: str | None = None
    stripe_plan: str | None = None
    stripe_name: str = ""  # shown on Stripe's checkout page and invoices

    @property
    def contact_sales(self) -> bool:
        return not self.self_serve and self.key != TRIAL


TRIAL = "trial"

PLANS: dict[str, Plan] = {
    plan.key: plan
    for plan in (
        Plan(TRIAL, _l("Free trial"), _l("Everything, for %(days)d days.", days=TRIAL_DAYS),
             Limits(stores=5, members=1000, staff=20)),
        Plan("single", _l("Single store"), _l("One shop, its members and its team."),
             Limits(stores=1, members=3000, staff=5), monthly_fen=19900, self_serve=True,
             stripe_product="huiyuan_single", stripe_plan="huiyuan_single_monthly_v1",
             stripe_name="Huiyuan 会员 · Single store / 单店版"),
        Plan("chain", _l("Chain"), _l("Up to 20 stores and 50,000 members."),
             Limits(stores=20, members=50000, staff=200), monthly_fen=99900, self_serve=True,
             stripe_product="huiyuan_chain", stripe_plan="huiyuan_chain_monthly_v1",
             stripe_name="Huiyuan 会员 · Chain / 连锁版"),
        Plan("enterprise", _l("Enterprise"), _l("Malls and large chains: no limits, invoiced. Contact us."),
             Limits(stores=None, members=None, staff=None)),
    )
}


def plan_named(key: str | None) -> Plan:
    """The plan with this key; an unknown or missing key is the trial (the most limited fallback)."""
    return PLANS.get(key or "", PLANS[TRIAL])


def plan_for_stripe_id(stripe_id: str | None) -> Plan | None:
    """The plan sold under this Stripe Plan/Price id, if it is one of ours."""
    return next((p for p in PLANS.values() if stripe_id and p.stripe_plan == stripe_id), None)


def self_serve_plans() -> list[Plan]:
    return [p for p in PLANS.values() if p.self_serve]
