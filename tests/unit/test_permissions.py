"""The one permission table that views consult."""

import pytest

from saas.permissions import PERMISSIONS, Role, assignable_roles, can


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        ("clerk", "counter.use", True),
        ("clerk", "members.view_counter", True),
        ("clerk", "members.view_full", False),  # 会员资料保密: clerks see what the counter needs
        ("clerk", "staff.view", False),
        ("vip_specialist", "members.view_full", True),
        ("vip_specialist", "care.followups", True),
        ("vip_specialist", "members.export", False),
        ("store_manager", "members.export", True),
        ("store_manager", "members.import", False),  # legacy imports open balances: HQ only
        ("chain_admin", "members.import", True),
        ("store_manager", "program.edit", False),
        ("regional_supervisor", "reports.store", True),
        ("regional_supervisor", "reports.chain", False),
        ("chain_admin", "program.edit", True),
        ("chain_admin", "billing.manage", False),
        ("store_manager", "rewards.stock", True),
        ("vip_specialist", "rewards.stock", False),
        ("clerk", "rewards.stock", False),  # clerks redeem; managers put stock in
        ("owner", "billing.manage", True),
        ("owner", "api_keys.manage", True),
        ("nobody", "dashboard.view", False),
    ],
)
def test_the_permission_table(role, permission, allowed):
    assert can(role, permission) is allowed


def test_the_owner_can_do_everything():
    assert all(can("owner", p) for p in PERMISSIONS)


def test_an_unknown_permission_is_a_programming_error():
    with pytest.raises(KeyError):
        can("owner", "members.teleport")


def test_people_can_only_give_roles_below_their_own():
    assert Role.OWNER not in assignable_roles("owner")
    assert set(assignable_roles("owner")) == set(Role) - {Role.OWNER}
    assert set(assignable_roles("store_manager")) == {Role.VIP_SPECIALIST, Role.CLERK}
    assert assignable_roles("clerk") == []
