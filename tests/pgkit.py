"""A throwaway PostgreSQL server for the database tests: Debian's own binaries, no mocks.

`make postgres` installs Debian's `postgresql`, whose binaries sit in
/usr/lib/postgresql/<major>/bin, off the PATH; its system cluster is left unused. Each
server here is a fresh `initdb` in a directory of the caller's, on a free port of
127.0.0.1 with its unix socket in that directory too, trusting local connections: it is
for tests only, and is stopped when the block ends. PostgreSQL refuses to run as root, so
as root the server runs as an unprivileged system user (`forecast-pg`, created if missing).
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from liveserver import free_port
from psycopg import sql

DEBIAN = Path("/usr/lib/postgresql")
SYSTEM_USER = "forecast-pg"
ROLE = "forecast"
DATABASE = "forecast"
# Linux's limit on a unix socket's path (108 bytes with the final NUL).
SOCKET_PATH_LIMIT = 107


def _has_tools(bin_dir: Path) -> bool:
    return all((bin_dir / tool).is_file() for tool in ("initdb", "pg_ctl"))


def find_postgres() -> str | None:
    """The directory of `initdb` and `pg_ctl`: Debian's highest major first, then the PATH."""
    majors = [p for p in DEBIAN.glob("*/bin") if p.parent.name.isdigit() and _has_tools(p)]
    if majors:
        return str(max(majors, key=lambda p: int(p.parent.name)))
    on_path = shutil.which("pg_ctl")
    if on_path and _has_tools(Path(on_path).parent):
        return str(Path(on_path).parent)
    return None


POSTGRES = find_postgres()


def _system_user() -> str:
    """The unprivileged user that runs the server as root, created on first use."""
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        options = ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
        added = subprocess.run(
            ["useradd", *options, "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            pwd.getpwnam(SYSTEM_USER)  # a concurrent useradd may have won: that is fine
        except KeyError:
            raise RuntimeError(f"could not add the user {SYSTEM_USER}: {added.stderr}") from None
    return SYSTEM_USER


def _hand_over(base: Path, user: str) -> None:
    """Give `base` and what it holds to `user`, who may traverse (not list) the folders above.

    pytest makes its temporary directories 0700 for root, so the server's own user could
    not reach `base` otherwise; pytest takes the bit off its top directory again next run.
    """
    for folder, _, files in os.walk(base):
        for path in [folder, *(os.path.join(folder, name) for name in files)]:
            shutil.chown(path, user, user)
    for parent in base.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _log_tail(log: Path, lines: int = 30) -> str:
    if not log.exists():
        return "(no server log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def postgres_server(base: Path, timeout: float = 60) -> Iterator[str]:
    """Run a fresh PostgreSQL in `base` until the block ends; yield its SQLAlchemy URL.

    The URL is `postgresql+psycopg://forecast@127.0.0.1:<port>/forecast`, a database that
    the superuser `forecast` owns. The server is stopped (`pg_ctl stop -m fast`) on exit,
    whatever happened; a server that does not start raises with the end of its log.
    """
    if POSTGRES is None:
        raise RuntimeError("no PostgreSQL: run `make postgres` (installs Debian's postgresql)")
    bin_dir = Path(POSTGRES)
    data, sockets, log = base / "data", base / "sockets", base / "postgres.log"
    sockets.mkdir(parents=True, exist_ok=True)
    if len(str(sockets.resolve() / ".s.PGSQL.65535")) > SOCKET_PATH_LIMIT:
        raise RuntimeError(f"{sockets} is too long a path for PostgreSQL's unix socket")
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = _system_user()
        _hand_over(base, user)
        run_as = ["runuser", "-u", user, "--"]
    # C and UTF-8 whatever the caller's locale, which may not even be installed.
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}

    def run(*command: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*run_as, *map(str, command)],
            cwd=base,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            check=check,
        )

    initdb = ["-D", data, "-U", ROLE, "-A", "trust", "-E", "UTF8", "--no-locale"]
    done = run(bin_dir / "initdb", *initdb, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    port = free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {shlex.quote(str(sockets))}"
    start = ["-D", data, "-l", log, "-o", options, "-w", "-t", str(int(timeout))]
    try:
        started = run(bin_dir / "pg_ctl", "start", *start, check=False)
        if started.returncode != 0:
            raise RuntimeError(
                f"PostgreSQL did not start on 127.0.0.1:{port} (waiting {timeout:.0f} s at most): "
                f"{started.stdout.strip()} {started.stderr.strip()}\nIts log ends:\n"
                + _log_tail(log)
            )
        with psycopg.connect(
            host="127.0.0.1", port=port, user=ROLE, dbname="postgres", autocommit=True
        ) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        yield f"postgresql+psycopg://{ROLE}@127.0.0.1:{port}/{DATABASE}"
    finally:
        stopped = run(bin_dir / "pg_ctl", "stop", "-D", data, "-m", "fast", "-w", check=False)
        if stopped.returncode != 0 and (data / "postmaster.pid").exists():
            run(bin_dir / "pg_ctl", "stop", "-D", data, "-m", "immediate", "-w", check=False)


def new_database(server: str, name: str | None = None) -> str:
    """A new, empty database on the server of `server` (a URL `postgres_server` gave); its URL.

    Tests that write get one each, so no other test's rows show.
    """
    name = name or f"test_{uuid.uuid4().hex[:12]}"
    conninfo = server.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{server.rsplit('/', 1)[0]}/{name}"
