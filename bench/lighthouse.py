"""Lighthouse (mobile preset) over the main pages of a demo site this script serves itself: `make lighthouse`.

The site runs in the production profile (DEBUG off, hashed static files served by WhiteNoise, media served by
Django) under gunicorn, on a fresh SQLite database with the demo world (load_demo), on a loopback port. Pages
of signed-in people get a session cookie made for the demo user, passed with --extra-headers. Lighthouse
12.2.3 comes from the project's package.json (npm ci) and drives Debian's Chromium (CHROME_PATH).

Prints the performance and accessibility score of each page with OK or MISSED (target: TARGET each) and exits
non-zero on a miss. Reports are kept in bench/results/lighthouse/.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LIGHTHOUSE = BASE / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
RESULTS = BASE / "bench" / "results" / "lighthouse"
TARGET = 95
CATEGORIES = ("performance", "accessibility")

# The demo objects each page shows, found in the demo database: (name, who, path).
PAGES_SCRIPT = """
import json
from logistics.models import Parcel
from logistics.selectors import agent_station
from accounts.models import User
from orders.models import Order
from shops.models import HarvestLot, Product
product = (Product.objects.filter(is_active=True, images__isnull=False, shop__owner__username="farmer")
           .order_by("pk").first())
lot = HarvestLot.objects.filter(product=product).order_by("pk").first() or HarvestLot.objects.order_by("pk").first()
order = Order.objects.filter(buyer__username="buyer").order_by("-pk").first()
print(json.dumps([
    ("home", None, "/"),
    ("category", None, f"/c/{product.category.slug}/"),
    ("product", None, f"/p/{product.pk}/"),
    ("cart", "buyer", "/cart/"),
    ("order", "buyer", f"/orders/{order.number}/"),
    ("trace", None, f"/t/{lot.code}"),
    ("agent", "agent", "/agent/"),
]))
"""

SESSION_SCRIPT = """
import sys
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
user = User.objects.get(username=sys.argv[-1])
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(settings.SESSION_COOKIE_NAME + "=" + session.session_key)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=BASE, env=env, check=True, text=True,
                            stdout=subprocess.PIPE if capture else subprocess.DEVNULL)
    return result.stdout.strip() if capture else ""


def django_snippet(env: dict, code: str, *argv: str) -> str:
    return subprocess.run([PYTHON, "-c", "import django; django.setup()\n" + code, *argv], cwd=BASE, env=env,
                          check=True, text=True, stdout=subprocess.PIPE).stdout.strip()


def wait_for(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("the demo server stopped before it answered")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (http on loopback)
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"the demo server did not answer on {url}")


def ensure_lighthouse() -> None:
    if not LIGHTHOUSE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BASE, check=True)


ATTEMPTS = 3


def run_lighthouse(url: str, cookie: str | None, report: Path) -> dict[str, int]:
    command = [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report}",
               f"--only-categories={','.join(CATEGORIES)}", "--chrome-flags=--headless=new --no-sandbox"]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    for attempt in range(1, ATTEMPTS + 1):
        # Lighthouse sometimes loses Chromium's trace ("NO_NAVSTART ... run Lighthouse again"): that page is
        # measured again, never scored from a broken run.
        if subprocess.run(command, env={**os.environ, "CHROME_PATH": CHROME}).returncode == 0:
            break
        print(f"  Lighthouse failed on {url} (attempt {attempt} of {ATTEMPTS})", flush=True)
    else:
        sys.exit(f"Lighthouse could not measure {url}")
    data = json.loads(report.read_text())
    if data.get("finalDisplayedUrl", url) != url:  # sent elsewhere (a sign-in page): that page was not measured
        sys.exit(f"{url} was sent to {data['finalDisplayedUrl']}")
    return {name: round((data["categories"][name]["score"] or 0) * 100) for name in CATEGORIES}


def main() -> int:
    ensure_lighthouse()
    RESULTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="farmgate-lighthouse-"))
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_ENV": "production", "DEBUG": "false",
           "SECRET_KEY": secrets.token_urlsafe(40), "ALLOWED_HOSTS": "127.0.0.1,localhost",
           "SECURE_SSL_REDIRECT": "false", "SECURE_HSTS_SECONDS": "0", "SERVE_MEDIA": "true",
           "DATABASE_URL": f"sqlite:///{work / 'demo.sqlite3'}", "STATIC_ROOT": str(work / "static"),
           "MEDIA_ROOT": str(work / "media"), "PRIVATE_MEDIA_ROOT": str(work / "private"), "LOG_LEVEL": "WARNING"}
    for name in ("REDIS_URL", "STRIPE_SECRET_KEY"):
        env.pop(name, None)
    server = None
    try:
        print("Preparing the demo site (migrate, collectstatic, load_demo)...", flush=True)
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        manage(env, "load_demo", "--allow-production")
        pages = json.loads(django_snippet(env, PAGES_SCRIPT))
        cookies = {who: django_snippet(env, SESSION_SCRIPT, who) for who in {who for _, who, _ in pages if who}}
        server = subprocess.Popen([str(Path(PYTHON).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
                                   "--workers", "2", "--threads", "4", "--log-level", "warning"],
                                  cwd=BASE, env=env)
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/healthz", server)
        missed = 0
        rows = []
        for name, who, path in pages:
            scores = run_lighthouse(base + path, cookies.get(who), RESULTS / f"{name}.json")
            verdicts = []
            for category in CATEGORIES:
                ok = scores[category] >= TARGET
                missed += not ok
                verdicts.append(f"{category} {scores[category]:3d} {'OK' if ok else 'MISSED'}")
            rows.append(f"{name:9s} {path:28s} " + "  ".join(verdicts))
            print(rows[-1], flush=True)
        print(f"Target {TARGET} on each; {'all met' if not missed else f'{missed} missed'}. "
              f"Reports in {RESULTS.relative_to(BASE)}/")
        return 1 if missed else 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
