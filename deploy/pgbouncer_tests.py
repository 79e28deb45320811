"""PostgreSQL tests of every query shape, run through PgBouncer in transaction pooling mode (`make test-pgbouncer`).

    .venv/bin/python deploy/pgbouncer_tests.py [pytest arguments]

Starts PgBouncer (deploy/pgbouncer.ini, pool_mode = transaction) in front of the PostgreSQL server of
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/farmgate), then runs pytest with DATABASE_URL pointing
at PgBouncer and DATABASE_POOLER=transaction, as the app servers and workers of a deployment do. The test
database (test_farmgate_pgbouncer) is created and migrated through the pooler, kept by --reuse-db (dropping a
database PgBouncer still holds connections to would fail), and dropped directly on PostgreSQL at the end.

The subset covers each kind of statement the application sends:
- orders/tests/test_concurrency.py: SELECT ... FOR UPDATE in concurrent transactions (stock, checkout);
- monitoring: the partitioned readings table (INSERT ... ON CONFLICT, DDL of partitions in a transaction,
  ATTACH/DETACH, a migration back and forth), the hourly rollup upserts, raw SQL, aggregates;
- traceability: the hash chain under concurrency, the append-only trigger, `.iterator()` (verify_trace) which
  would use a server-side cursor without DISABLE_SERVER_SIDE_CURSORS;
- notifications/tests/test_worker.py and tests/test_celery_worker.py: a real Celery worker on the same pooler,
  transactions committed by one process and read by another.
Browser tests are left out (they add a browser, not a query shape).
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy import services  # noqa: E402

SUBSET = ["orders/tests/test_concurrency.py", "monitoring", "traceability", "notifications/tests/test_worker.py",
          "tests/test_celery_worker.py"]
TEST_DATABASE = "test_farmgate_pgbouncer"


def drop_test_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)')


def main(argv: list[str]) -> int:
    url = urlparse(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/farmgate")
    user = url.username or "postgres"
    admin_url = url._replace(path="/postgres").geturl()
    drop_test_database(admin_url)  # a run that was interrupted
    site = services.Site(Path(tempfile.mkdtemp(prefix="farmgate-pgbouncer-")))
    os.chmod(site.root, 0o755)  # noqa: S103 (PgBouncer, as the postgres user, reads its folder inside)
    try:
        pgbouncer = services.start_pgbouncer(site, postgres_host=url.hostname or "127.0.0.1",
                                             postgres_port=url.port or 5432, user=user)
        env = {**os.environ,
               "DATABASE_URL": f"postgres://{user}@127.0.0.1:{pgbouncer.port}{url.path or '/farmgate'}",
               "DATABASE_POOLER": "transaction", "TEST_DATABASE_NAME": TEST_DATABASE}
        print(f"pytest through PgBouncer (transaction pooling) on 127.0.0.1:{pgbouncer.port}: {' '.join(SUBSET)}",
              flush=True)
        status = subprocess.call([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--reuse-db",
                                  "-m", "not browser", *(argv or SUBSET)], cwd=services.BASE_DIR, env=env)
        if not pgbouncer.alive():
            print(f"PgBouncer died:\n{pgbouncer.tail()}", file=sys.stderr)
            status = status or 1
    finally:
        site.stop_all()
        drop_test_database(admin_url)
        shutil.rmtree(site.root, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
