"""The app gunicorn serves in the benchmarks: the product's app plus one baseline route, `/bench/select1`
(one pooled `select 1`, what the cheapest database-backed request costs). Never part of the product.

    gunicorn -w 2 'bench.app:create()'     # with BENCH_DATABASE_URL etc. in the environment
"""

from __future__ import annotations

import os

from sqlalchemy import text

from bench.database import make_app
from bench.settings import urls_from_env


def create():
    from saas.extensions import db

    # The counter session cookie is minted once per run; the tablet must not lock for idleness meanwhile.
    app = make_app(urls_from_env(), SECRET_KEY=os.environ.get("BENCH_SECRET_KEY", "bench-secret-key"),
                   COUNTER_IDLE_SECONDS=86_400)

    @app.get("/bench/select1")
    def select1():
        with db.engine.connect() as conn:
            value = conn.execute(text("select 1")).scalar_one()
        return str(value)

    return app
