"""What the counter shows, in the reader's language: tier sentences, perks, birthdays, the card QR.

Services return codes and numbers (explain_member's reason codes, tier codes, fen); this module
turns them into the sentences staff read out ("Spend ¥312.00 more before 1 Mar 2027 to keep Gold").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import segno
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.crypto import mask_id_number
from saas.extensions import db
from saas.forms import choices
from saas.i18n import format_day, format_money
from saas.i18n import format_number as number
from tenants.domain.dates import birthday_in_year
from tenants.domain.errors import DomainError
from tenants.domain.purchase import is_birthday_benefit_day
from tenants.domain.tiers import PURCHASE, TierActivity, evaluate_tier
from tenants.models import TierAccount
from tenants.programs import business_today
from tenants.services.business_time import resolve_business_time
from tenants.services.tiers import account_activities, state_of
from tenants.views.counter_session import locale, program_now, tier_label

ONE_DAY = dt.timedelta(days=1)


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def day(value) -> str:
    return format_day(_date(value))


def last_day(value) -> str:
    """An exclusive period end shown as the last day it still holds."""
    end = _date(value)
    return format_day(end - ONE_DAY) if end else ""


def discount_label(price_bp: int) -> str:
    """A price rate as people in the reader's language say it: 8.8折 / 12% off."""
    if locale().startswith("zh"):
        return f"{Decimal(price_bp) / 1000:g}折"
    return _("%(percent)s%% off", percent=f"{Decimal(10_000 - price_bp) / 100:g}")


def _amount(measure: str | None, value: int) -> dict:
    return {"amount": format_money(value)} if measure != "points" else {"points": number(value)}


def reason_text(reason: dict, program) -> str:
    """One explain_member reason as a sentence."""
    code, p = reason["code"], reason.get("params", {})
    tier = tier_label(program, p.get("tier"))
    deadline = day(p.get("deadline")) if p.get("deadline") else None
    if code == "spend_more_to_keep":
        return _("Spend %(amount)s more before %(date)s to keep %(tier)s.",
                 amount=format_money(p["missing"]), date=deadline, tier=tier)
    if code == "earn_points_to_keep":
        return _("Earn %(points)s more points before %(date)s to keep %(tier)s.",
                 points=number(p["missing"]), date=deadline, tier=tier)
    if code == "keep_reached":
        return _("Enough already to keep %(tier)s after %(date)s.", tier=tier, date=last_day(p.get("deadline")))
    if code == "tier_for_life":
        return _("%(tier)s for life.", tier=tier)
    if code == "tier_until":
        return _("%(tier)s until %(date)s.", tier=tier, date=last_day(p.get("until")))
    if code == "top_tier":
        return _("%(tier)s is the highest tier.", tier=tier)
    if code == "spend_more_to_reach":
        if deadline:
            return _("Spend %(amount)s more before %(date)s to reach %(tier)s.",
                     amount=format_money(p["missing"]), date=deadline, tier=tier)
        return _("Spend %(amount)s more to reach %(tier)s.", amount=format_money(p["missing"]), tier=tier)
    if code == "earn_points_to_reach":
        if deadline:
            return _("Earn %(points)s more points before %(date)s to reach %(tier)s.",
                     points=number(p["missing"]), date=deadline, tier=tier)
        return _("Earn %(points)s more points to reach %(tier)s.", points=number(p["missing"]), tier=tier)
    if code == "single_purchase_to_reach":
        return _("A single purchase of %(amount)s reaches %(tier)s.", amount=format_money(p["required"]), tier=tier)
    if code == "single_top_up_to_reach":
        return _("A single top-up of %(amount)s reaches %(tier)s.", amount=format_money(p["required"]), tier=tier)
    if code == "pay_fee_to_reach":
        return _("A fee of %(amount)s gives %(tier)s.", amount=format_money(p["required"]), tier=tier)
    if code == "hq_grant_only":
        return _("%(tier)s is granted by head office.", tier=tier)
    if code == "campaign_grant_only":
        return _("%(tier)s is granted in campaigns.", tier=tier)
    return code


def pending_text(measure: str | None, pending: int) -> str | None:
    if not pending:
        return None
    if measure == "points":
        return _("%(points)s points already earned count once the return window passes.", points=number(pending))
    return _("%(amount)s already bought counts once the return window passes.", amount=format_money(pending))


def tier_status(explanation: dict, program) -> list[dict]:
    """The sentences of the member panel, with a progress bar where there is a bar to reach.

    First keeping the current tier (or how long it lasts), then reaching the next one.
    """
    items: list[dict] = []
    keep = explanation.get("keep")
    upgrades = [u for u in explanation.get("upgrades", []) if u["tier_code"] == explanation.get("next_tier")]
    for reason in explanation.get("reasons", []):
        item = {"text": reason_text(reason, program), "have": None, "required": None, "note": None}
        if keep and reason["code"] == keep["reason"]["code"]:
            source = keep
        else:
            source = next((u for u in upgrades if u["reason"] == reason and u["rule"] == "cumulative"), None)
        if source is not None and source.get("required"):
            item.update(have=min(source["have"], source["required"]), required=source["required"],
                        note=pending_text(source.get("measure"), source.get("pending", 0)))
        items.append(item)
    return items


def change_text(change: dict, program) -> str:
    """A tier change (from a purchase, a top-up, an evaluation) as a sentence."""
    before, after = tier_label(program, change["from_tier"]), tier_label(program, change["to_tier"])
    if change["action"] == "upgrade":
        return _("Moved up from %(from)s to %(to)s.", **{"from": before, "to": after})
    if change["action"] == "downgrade":
        return _("Moved down from %(from)s to %(to)s.", **{"from": before, "to": after})
    if change["action"] == "renew":
        if change.get("period_end"):
            return _("%(tier)s renewed until %(date)s.", tier=after, date=last_day(change["period_end"]))
        return _("%(tier)s renewed.", tier=after)
    return _("%(tier)s kept for another period.", tier=after)


def _list_separator() -> str:
    return "、" if locale().startswith("zh") else ", "


def category_label(code: str | None) -> str:
    """What staff call a line's category code under the program in force today (the code if unlisted)."""
    if not code:
        return ""
    program = program_now(business_today())
    return program.category_name(code, locale()) if program else code


def tier_perks(program, code: str) -> list[str]:
    """What the tier gives, spelled out for staff: discounts, points multiple, the program's perks."""
    try:
        benefits = program.tier(code).benefits
    except DomainError:  # a tier unknown to this program version: no perks to show
        return []
    loc = locale()
    perks = []
    if benefits.discount_price_bp is not None and benefits.discount_price_bp < 10_000:
        perks.append(_("Regular-price goods: %(rate)s", rate=discount_label(benefits.discount_price_bp)))
    for category, rate in benefits.category_price_bp.items():
        if rate < 10_000:
            perks.append(_("%(category)s: %(rate)s", category=program.category_name(category, loc),
                           rate=discount_label(rate)))
    if benefits.excluded_categories and (benefits.discount_price_bp or benefits.category_price_bp):
        names = [program.category_name(c, loc) for c in benefits.excluded_categories]
        perks.append(_("No discount on: %(categories)s", categories=_list_separator().join(names)))
    if benefits.points_multiplier != 1:
        perks.append(_("Points ×%(multiple)s", multiple=f"{benefits.points_multiplier.normalize():f}"))
    perks.extend(perk.text(loc) for perk in benefits.perks)
    return perks


def birthday_benefits(program, code: str) -> list[str]:
    try:
        birthday = program.tier(code).benefits.birthday
    except DomainError:
        return []
    if birthday is None:
        return []
    items = []
    if birthday.price_bp is not None and birthday.price_bp < 10_000:
        items.append(_("Birthday price: %(rate)s", rate=discount_label(birthday.price_bp)))
    if birthday.gift is not None:
        items.append(_("Birthday gift: %(gift)s", gift=birthday.gift.text(locale())))
    if birthday.bonus_points:
        items.append(_("Birthday bonus: %(points)s points", points=number(birthday.bonus_points)))
    return items


def birthday_banner(member, on: dt.date, program, tier_code: str) -> dict | None:
    """On the birthday, or within six days either side of it: what to say and what the tier gives."""
    if member.birthday is None:
        return None
    nearest = min((birthday_in_year(member.birthday, year) for year in (on.year - 1, on.year, on.year + 1)),
                  key=lambda d: abs((d - on).days))
    days = (nearest - on).days
    if abs(days) > 6:
        return None
    if days == 0:
        text = _("Birthday today — wish %(name)s a happy birthday!", name=member.name)
    elif days > 0:
        text = _("Birthday on %(date)s, this week.", date=format_day(nearest))
    else:
        text = _("Birthday was on %(date)s.", date=format_day(nearest))
    benefits = []
    if program is not None and is_birthday_benefit_day(program, tier_code, member.birthday, on):
        benefits = birthday_benefits(program, tier_code)
    return {"today": days == 0, "text": text, "benefits": benefits}


def card_qr(number: str) -> str:
    """The virtual card as a QR code (an SVG data URI: the CSP allows data: images, no script)."""
    return segno.make_qr(number, error="m").svg_data_uri(scale=6, border=2, dark="#1f2328")


def tier_effect(member, preview: dict, program, on: dt.date) -> dict | None:
    """What the previewed purchase would do to the tier (the preview itself leaves the tier alone).

    The purchase counts for tiers on its release day (§19.7): evaluate the account as of that day
    with and without it; a difference is the purchase's doing.
    """
    if program is None or not (preview.get("spend_fen") or preview.get("points_earned")):
        return None
    account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
    counts_on = dt.date.fromisoformat(preview["points_pending_until"])
    as_of = max(on, counts_on)
    activities = account_activities(account.id)
    linked = account.kind != "single"
    extra = TierActivity(PURCHASE, counts_on, spend_fen=preview["spend_fen"], points=preview["points_earned"],
                         amount_fen=preview["spend_fen"], ref="preview", at=resolve_business_time(None))
    without = evaluate_tier(program, state_of(account), activities, as_of, linked=linked).state.tier_code
    with_it = evaluate_tier(program, state_of(account), [*activities, extra], as_of, linked=linked).state.tier_code
    if with_it == without:
        return None
    if counts_on <= on:
        text = _("This purchase moves the member up to %(tier)s.", tier=tier_label(program, with_it))
    else:
        text = _("After the return window, on %(date)s, this purchase moves the member up to %(tier)s.",
                 date=format_day(counts_on), tier=tier_label(program, with_it))
    return {"to": with_it, "from": without, "now": counts_on <= on, "text": text}


ID_DOCS = choices([("id_card", _l("ID card")), ("passport", _l("Passport")), ("other", _l("Other document"))])


def id_document_view(member, revealed: bool, can_reveal: bool, reveal_url: str) -> dict | None:
    """The member's ID document as a page shows it: masked, in full only once revealed (and audited)."""
    if not member.id_doc_number:
        return None
    labels = {c.value: c.label for c in ID_DOCS}
    return {"type": labels.get(member.id_doc_type, _("Other document")),
            "number": member.id_doc_number if revealed else mask_id_number(member.id_doc_number),
            "revealed": revealed, "can_reveal": can_reveal, "reveal_url": reveal_url}
