"""Services: load → domain → persist → commit once. Views, the JSON API and jobs call these.

Every mutating service takes the business time of the transaction (SPEC §19.1) and an
idempotency key; failures are `ServiceError`s with a stable code, params and a translated message.
"""
