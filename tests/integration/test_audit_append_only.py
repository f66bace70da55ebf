"""The app's database role can add audit entries and read them, never change or delete them."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from saas.audit import audit
from saas.extensions import db
from tenants.scoping import tenant_context

pytestmark = pytest.mark.postgres


def test_the_app_role_cannot_rewrite_or_delete_the_audit_log(tenant_a):
    with tenant_context(tenant_a):
        audit("member.exported", "member:1", actor_id=None)
        db.session.commit()
        assert db.session.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'member.exported'")) == 1
        for statement in ("UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log"):
            with pytest.raises(ProgrammingError, match="permission denied"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'member.exported'")) == 1
