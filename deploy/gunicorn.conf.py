"""gunicorn settings of a Farmgate app server: `gunicorn -c deploy/gunicorn.conf.py config.wsgi`.

Environment:
- GUNICORN_BIND (default 0.0.0.0:8000): where the load balancer reaches this server;
- GUNICORN_WORKERS (default 2 x CPUs + 1) and GUNICORN_THREADS (default 4): processes x threads per server;
- GUNICORN_CONTROL_SOCKET (default /tmp/farmgate-gunicorn-<bind>.ctl): gunicorn's control socket;
- PROMETHEUS_MULTIPROC_DIR (default a folder of its own under /tmp): where the worker processes keep their
  metrics, so that /metrics on any of them sums the whole server. Emptied at start; one per server.
"""
import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = 60  # a request stuck longer is killed; the task time limits cover the slow work
graceful_timeout = 30
keepalive = 75  # longer than the load balancer keeps an idle upstream connection, so it never meets a closed one
max_requests = 2000  # a worker is replaced now and then, so no slow leak grows for ever
max_requests_jitter = 200
# TLS ends at the load balancer, which tells the scheme in X-Forwarded-Proto (Django reads it:
# SECURE_PROXY_SSL_HEADER). Only the balancer's address may say so to gunicorn.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
access_log_format = ('{"time":"%(t)s","request_id":"%({x-request-id}i)s","remote":"%({x-forwarded-for}i)s",'
                     '"request":"%(r)s","status":%(s)s,"bytes":"%(B)s","ms":%(M)s,"pid":%(p)s}')
errorlog = "-"
# gunicorn's control socket, one per server (two servers on one machine must not share the default path).
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or os.path.join(
    tempfile.gettempdir(), f"farmgate-gunicorn-{bind.replace(':', '-').replace('/', '-')}.ctl")

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="farmgate-metrics-"))


def on_starting(server):
    """Metrics of a previous run of this server are gone: counters start again from zero."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
