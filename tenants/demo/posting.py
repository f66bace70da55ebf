"""Posting planned events through the loyalty services, keeping what they answer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from saas.extensions import db
from tenants.demo.plans import MINUTE, Context, Event, Live, Plan
from tenants.demo.verticals import Hotel
from tenants.domain.purchase import MemberState, PurchaseLine, Tender, price_purchase
from tenants.models import RewardStock, Store, TierAccount
from tenants.services import ledger
from tenants.services.members import enroll_member, new_card_number
from tenants.services.points import adjust_points, redeem
from tenants.services.purchases import LineIn, TenderIn, record_purchase, record_return
from tenants.services.stored_value import top_up
from tenants.services.tiers import evaluate_member


class Poster:
    """Posts planned events through the services and keeps what they answer."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # Stock left of catalogue rewards; only ever lowered, so a rolled-back batch errs on the safe side.
        self.stock = dict(db.session.execute(select(RewardStock.item_code, RewardStock.stock)).all())

    def staff(self, live: Live, store: Store, ev: Event | None = None) -> int | None:
        people = self.ctx.counter_staff.get(store.id) or []
        if not people:
            return None
        return people[(live.plan.index + (ev.seq if ev else 0)) % len(people)]

    def enrol(self, live_by_index: dict[int, Live], plan: Plan) -> Live:
        ctx, v = self.ctx, self.ctx.vertical
        referrer = live_by_index.get(plan.referrer) if plan.referrer is not None else None
        hotel = isinstance(v, Hotel)
        top_up_fen = 50_000 if hotel and plan.sv_user else 0
        member = enroll_member(
            business_at=plan.joined_at, name=plan.name, phone=plan.phone, email=plan.email, birthday=plan.birthday,
            gender=plan.gender, store_id=plan.store.id, staff_id=plan.staff_id,
            referrer_id=referrer.member_id if referrer else None, marketing_consent=plan.consent,
            source=plan.source, real_name_verified=v.real_name, id_doc_type="id_card" if plan.id_number else None,
            id_doc_number=plan.id_number, top_up_fen=top_up_fen,
            card_fee_paid_fen=0 if top_up_fen or not hotel else ctx.program(plan.joined_at.date()).card_type().fee_fen,
            physical_card_number=new_card_number() if hotel or (v.real_name and plan.index % 2 == 0) else None,
            profile=plan.profile)
        if referrer is not None:
            referrer.available += ctx.program(plan.joined_at.date()).earning.referral_points
        account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
        return Live(plan=plan, member_id=member.id, account=account)

    def adjust(self, live: Live, ev: Event) -> None:
        adjust_points(member_id=live.member_id, delta=ev.data["delta"], reason=ev.data["reason"],
                      business_at=ev.at, staff_id=self.ctx.admin_id, approved_by=self.ctx.owner_id)
        live.available += ev.data["delta"]
        live.stats.adjustments += 1

    def top_up(self, live: Live, at: dt.datetime, store: Store, amount: int, card_fee_due: bool = False) -> None:
        result = top_up(member_id=live.member_id, amount_fen=amount, business_at=at, store_id=store.id,
                        staff_id=self.staff(live, store), card_fee_due=card_fee_due)
        live.sv_fen = result["stored_value_fen"]
        live.unlocked.update(result["unlocked_price_bp"])
        live.stats.top_ups += 1

    def redeem(self, live: Live, ev: Event, *, kind: str, store: Store | None = None, **kwargs) -> None:
        store = store or self.visit_store(ev)
        result = redeem(member_id=live.member_id, kind=kind, business_at=ev.at - MINUTE, store_id=store.id,
                        staff_id=self.staff(live, store, ev), **kwargs)
        live.available = result["balances"]["points_available"]
        if kind == "catalogue":
            self.stock[result["code"]] -= result["quantity"]
        if result["voucher_fen"]:
            live.vouchers.extend([result["voucher_fen"] // result["quantity"]] * result["quantity"])
        live.stats.redemptions += 1

    def visit_store(self, ev: Event) -> Store:
        return self.ctx.by_code[ev.data["store"]]

    def amount_due(self, live: Live, on: dt.date, store: Store, lines: list[LineIn], tenders: list[TenderIn]) -> int:
        """What the member will owe, priced by the domain exactly as record_purchase will price it.

        The price may depend on the tier in force before the purchase; when it does (the tiers give
        different amounts), the member is first evaluated up to the day so that tier is known."""
        program = self.ctx.program(on)
        domain_lines = [PurchaseLine(line.line_id, line.regular_fen, line.charged_fen, line.kind, line.category,
                                     line.special, line.quantity, line.sku) for line in lines]
        domain_tenders = [Tender(t.kind, t.amount_fen, t.points) for t in tenders]

        def due(tier_code: str) -> int:
            state = MemberState(tier_code=tier_code, birthday=live.plan.birthday,
                                unlocked_category_price_bp=dict(live.unlocked))
            return price_purchase(program, state, domain_lines, domain_tenders, on, store.code).amount_due_fen

        amounts = {due(tier.code) for tier in program.tiers}
        if len(amounts) == 1:
            return amounts.pop()
        evaluate_member(ledger.lock_member(live.member_id), on)
        return due(live.account.tier_code)

    def purchase(self, live: Live, ev: Event, lines: list[LineIn], *, voucher_fen: int = 0, points: int = 0,
                 pay_sv: bool = False, insurance_bp: int = 0) -> None:
        """Record the visit's purchase; stored value or medical insurance pay exact shares of the amount
        due, so that amount is priced first (the domain's own pricing, with the tier in force)."""
        store = self.visit_store(ev)
        tenders = []
        if voucher_fen:
            tenders.append(TenderIn("voucher", voucher_fen))
        if points:
            tenders.append(TenderIn("points", points=points))
        if (pay_sv and live.sv_fen > 0) or insurance_bp:
            due = self.amount_due(live, ev.at.date(), store, lines, tenders)
            money = []
            if insurance_bp:
                money.append(TenderIn("medical_insurance", due * insurance_bp // 10_000))
            if pay_sv:
                money.append(TenderIn("stored_value", min(live.sv_fen, due - sum(t.amount_fen for t in money))))
            rest = due - sum(t.amount_fen for t in money)
            money.append(TenderIn(("wechat", "alipay", "bank_card", "cash")[ev.seq % 4], rest))
            tenders += [t for t in money if t.amount_fen > 0]
        result = record_purchase(member_id=live.member_id, lines=lines, tenders=tenders, business_at=ev.at,
                                 store_id=store.id, staff_id=self.staff(live, store, ev),
                                 device=f"POS-{store.code}", pin_verified=pay_sv,
                                 receipt_no=f"{store.code}-{ev.at:%Y%m%d}-{ev.seq % 10_000:04d}")
        live.available = result["balances"]["points_available"]
        live.sv_fen = result["balances"]["stored_value_fen"]
        live.purchases[ev.data["key"]] = int(result["id"])
        live.stats.purchases += 1
        live.stats.points_payments += bool(points)

    def give_back(self, live: Live, ev: Event) -> None:
        purchase_id = live.purchases.get(ev.data["key"])
        if purchase_id is None:  # the purchase was not posted (e.g. the whole stay paid with a free night)
            return
        store = self.visit_store(ev)
        result = record_return(purchase_id=purchase_id, member_id=live.member_id,
                               lines={ev.data["line"]: ev.data["quantity"]}, business_at=ev.at, store_id=store.id,
                               staff_id=self.staff(live, store, ev))
        live.available = max(0, live.available - result["points_taken_back"])
        live.sv_fen = result["balances"]["stored_value_fen"]
        live.stats.returns += 1

    def post(self, lives: dict[int, Live], plan: Plan, ev: Event) -> None:
        if ev.kind == "enrol":
            lives[plan.index] = self.enrol(lives, plan)
            return
        live = lives[plan.index]
        if ev.kind == "adjust":
            self.adjust(live, ev)
        elif ev.kind == "top_up":
            if live.sv_fen < ev.data.get("if_below", live.sv_fen + 1):
                self.top_up(live, ev.at, live.plan.store, ev.data["amount"], ev.data.get("card_fee_due", False))
        elif ev.kind == "visit":
            self.ctx.vertical.post_visit(self, live, ev)
        elif ev.kind == "return":
            self.give_back(live, ev)
