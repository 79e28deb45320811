"""Start the programs of a Farmgate deployment on one machine, in a temporary folder, on loopback ports.

Used by the production rehearsal (deploy/prod_local.py, `make prod-local`) and by the PgBouncer test run
(deploy/pgbouncer_tests.py). Each program is a child process in a process group of its own, so that one can be
killed whole (an app server with its workers) and everything is stopped at the end, whatever happened. The
configuration files are rendered from the templates beside this file (nginx.conf, pgbouncer.ini), the same
ones a real deployment starts from. Nothing here needs systemd; everything runs as the current user (root
on CI, where PgBouncer, which refuses to run as root, switches to the `postgres` user).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
BASE_DIR = DEPLOY_DIR.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def render(template: str, target: Path, **values) -> Path:
    """deploy/<template> with its {{names}} filled in (nginx keeps its own $variables), written to target."""
    text = re.sub(r"\{\{(\w+)\}\}", lambda m: str(values[m[1]]), (DEPLOY_DIR / template).read_text())
    target.write_text(text)
    return target


@dataclass
class Program:
    name: str
    process: subprocess.Popen
    log: Path
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the whole process group: a machine that died, not one that shut down. Returns once its port
        refuses connections (until the last process of the group is gone, the kernel still accepts them)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.port is not None and port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Site:
    """The running programs, stopped in reverse order of start."""

    root: Path
    programs: list[Program] = field(default_factory=list)

    def start(self, name: str, command: list[str], *, env: dict | None = None, port: int | None = None,
              wait: float = 60) -> Program:
        log = self.root / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = log.open("ab")
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env or os.environ.copy(), stdout=handle,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        handle.close()
        program = Program(name, process, log, port)
        self.programs.append(program)
        if port is not None:
            deadline = time.monotonic() + wait
            while not port_open(port):
                if not program.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not open port {port}:\n{program.tail()}")
                time.sleep(0.1)
        return program

    def get(self, name: str) -> Program:
        return next(p for p in self.programs if p.name == name)

    def stop_all(self) -> None:
        for program in reversed(self.programs):
            program.stop()


# --- The services -------------------------------------------------------------------------

def start_postgres_database(admin_url: str, name: str) -> None:
    """A fresh, empty database `name` on the PostgreSQL server of admin_url (dropped first if it exists)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def start_pgbouncer(site: Site, *, postgres_host: str = "127.0.0.1", postgres_port: int = 5432,
                    user: str = "postgres", pool_size: int = 20) -> Program:
    """PgBouncer in transaction pooling mode in front of PostgreSQL, for every database (`*`)."""
    folder = site.root / "pgbouncer"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    config = render("pgbouncer.ini", folder / "pgbouncer.ini", listen_port=port, postgres_host=postgres_host,
                    postgres_port=postgres_port, auth_file=folder / "userlist.txt", pool_size=pool_size,
                    admin_user=user)
    command = [shutil.which("pgbouncer") or "/usr/sbin/pgbouncer", str(config)]
    if os.geteuid() == 0:  # PgBouncer will not run as root
        shutil.chown(folder, user)
        for item in folder.iterdir():
            shutil.chown(item, user)
        command.insert(1, f"--user={user}")
    return site.start("pgbouncer", command, port=port)


def start_redis(site: Site) -> Program:
    folder = site.root / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    return site.start("redis", [shutil.which("redis-server") or "redis-server", "--port", str(port),
                                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
                      port=port)


def start_mosquitto(site: Site) -> Program:
    folder = site.root / "mosquitto"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    return site.start("mosquitto", [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(config)],
                      port=port)


def start_moto(site: Site) -> Program:
    """moto's S3-compatible server: the object store of the rehearsal (any S3 API in production)."""
    port = free_port()
    return site.start("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], port=port)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A TLS certificate for 127.0.0.1 and localhost, valid for a day: the load balancer ends TLS as in
    production, and the smoke journey trusts exactly this certificate."""
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def start_nginx(site: Site, *, https_port: int, app_ports: list[int], s3_port: int, media_bucket: str) -> Program:
    folder = site.root / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "temp" / sub).mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(folder)
    upstreams = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=30s;" for port in app_ports)
    config = render("nginx.conf", folder / "nginx.conf", user="root" if os.geteuid() == 0 else "nobody",
                    prefix=folder, listen=f"127.0.0.1:{https_port}", server_name="127.0.0.1 localhost",
                    certificate=cert, certificate_key=key, app_servers=upstreams, s3=f"127.0.0.1:{s3_port}",
                    media_bucket=media_bucket)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return site.start("nginx", [nginx, "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log"),
                                "-g", "daemon off;"], port=https_port)
