"""Roles, the one permission table, and store scope. Views consult `can()`; nothing else decides."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    OWNER = "owner"
    CHAIN_ADMIN = "chain_admin"
    REGIONAL_SUPERVISOR = "regional_supervisor"
    STORE_MANAGER = "store_manager"
    VIP_SPECIALIST = "vip_specialist"
    CLERK = "clerk"


ROLE_LABELS = {
    Role.OWNER: _l("Owner"),
    Role.CHAIN_ADMIN: _l("Chain administrator"),
    Role.REGIONAL_SUPERVISOR: _l("Regional supervisor"),
    Role.STORE_MANAGER: _l("Store manager"),
    Role.VIP_SPECIALIST: _l("VIP specialist"),
    Role.CLERK: _l("Clerk"),
}

# Higher rank may manage lower ranks, never its own rank or above (the owner excepted).
RANK = {
    Role.OWNER: 60,
    Role.CHAIN_ADMIN: 50,
    Role.REGIONAL_SUPERVISOR: 40,
    Role.STORE_MANAGER: 30,
    Role.VIP_SPECIALIST: 20,
    Role.CLERK: 10,
}

O, A, R, M, V, C = (  # noqa: E741 (short names keep the table readable)
    Role.OWNER,
    Role.CHAIN_ADMIN,
    Role.REGIONAL_SUPERVISOR,
    Role.STORE_MANAGER,
    Role.VIP_SPECIALIST,
    Role.CLERK,
)

PERMISSIONS: dict[str, frozenset[Role]] = {
    "dashboard.view": frozenset({O, A, R, M, V, C}),
    "counter.use": frozenset({O, A, R, M, V, C}),
    "counter.manage": frozenset({O, A, M}),  # register/revoke counter tablets, reset staff PINs
    "members.view_counter": frozenset({O, A, R, M, V, C}),  # masked phone, tier, points, perks
    "members.view_full": frozenset({O, A, R, M, V}),  # 会员资料保密: full records
    "members.browse": frozenset({O, A, R, M}),  # the back office's member list, within their store scope
    "members.reveal_id": frozenset({O, A, M}),  # the full ID document number, each time audited
    "members.approve_identity": frozenset({O, A}),  # 变更审核: HQ approves name and ID number changes
    "members.export": frozenset({O, A, M}),
    "members.import": frozenset({O, A}),  # legacy members from a CSV/XLSX file, with their balances
    "points.adjust": frozenset({O, A, M}),
    "tiers.grant": frozenset({O, A}),  # 总部授予: a tier by HQ or campaign grant, with a reason (audited)
    "rewards.stock": frozenset({O, A, M}),  # receive and count reward catalogue stock
    "care.followups": frozenset({O, A, R, M, V}),
    "reports.store": frozenset({O, A, R, M}),
    "reports.chain": frozenset({O, A}),
    "staff.view": frozenset({O, A, R, M}),
    "staff.invite": frozenset({O, A, M}),
    "stores.manage": frozenset({O, A}),
    "program.edit": frozenset({O, A}),
    "program.approve": frozenset({O}),  # publish a version someone else asked for (when the setting says so)
    "messages.templates": frozenset({O, A}),
    "billing.manage": frozenset({O}),
    "api_keys.manage": frozenset({O}),
    "settings.manage": frozenset({O, A}),
    "audit.view": frozenset({O, A}),
}

# Who sees which stores: every store, the stores of their region, or their own store.
SCOPE_ALL = frozenset({O, A})
SCOPE_REGION = frozenset({R})


def can(role: str, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    try:
        return Role(role) in PERMISSIONS[permission]
    except ValueError:
        return False


def assignable_roles(role: str) -> list[Role]:
    """Roles that a user with `role` may invite or give: strictly below their own (owners: all but owner)."""
    mine = RANK[Role(role)]
    return [r for r in Role if r is not Role.OWNER and (RANK[r] < mine or Role(role) is Role.OWNER)]


def needs_store(role: str) -> bool:
    return Role(role) in {M, V, C}


def needs_region(role: str) -> bool:
    return Role(role) is R
