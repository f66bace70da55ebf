"""RQ worker (with the built-in scheduler) for Huiyuan's named queues, inside an app context.

    REDIS_URL=redis://... python worker.py [queue ...]
"""

import sys

from rq import Worker

from saas import create_app
from saas.jobs import QUEUES, WORKER_MAINTENANCE_SECONDS, get_queue, redis_connection

app = create_app()

if __name__ == "__main__":
    if not app.config.get("REDIS_URL"):
        sys.exit("worker.py needs REDIS_URL; without it jobs run inside the web process.")
    names = sys.argv[1:] or list(QUEUES)
    with app.app_context():
        app.extensions["huiyuan_jobs"]["worker"] = True
        worker = Worker([get_queue(n) for n in names], connection=redis_connection(),
                        maintenance_interval=WORKER_MAINTENANCE_SECONDS)
        worker.work(with_scheduler=True)
