"""The loyalty domain: pure rules over plain data (no Flask, no SQLAlchemy, no I/O, no clock).

Modules: ``money`` (fen and exact rounding), ``dates`` (months, working days), ``errors``
(DomainError and its codes), ``program`` (the tenant's rules), ``purchase`` (pricing and
earning), ``points`` (lots and ledger), ``returns``, ``redemption``, ``stored_value``,
``tiers``, ``explain``, ``cards``, ``enrolment``, ``segments``.
"""

from tenants.domain.errors import ERROR_CODES, DomainError
from tenants.domain.program import CURRENT_SCHEMA_VERSION, LocalizedText, Program

__all__ = ["CURRENT_SCHEMA_VERSION", "ERROR_CODES", "DomainError", "LocalizedText", "Program"]
