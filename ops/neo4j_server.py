"""A project-managed Neo4j Community server (no Docker): jars from Maven Central, a generated
neo4j.conf in a home folder of its own, and start / stop / status of the JVM.

`crumbgraph neo4j start|stop|status` (api/cli_neo4j.py) is the thin command over this module.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from graph.errors import ConfigError, StoreUnavailable

NEO4J_VERSION = "5.26.30"
POM = Path(__file__).with_name("neo4j_pom.xml")
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
#: the only user Neo4j Community creates itself (`set-initial-password` sets its password)
INITIAL_USER = "neo4j"
MIN_PASSWORD_LENGTH = 8  # Neo4j's dbms.security.auth_minimum_password_length default

#: The JVM flags of `server.jvm.additional` in the neo4j.conf that ships with Neo4j 5.26
#: (the `bin/neo4j` launcher passes them; we start the entry point ourselves, so we must too).
#: Left out on purpose: -XX:+AlwaysPreTouch, which touches the whole heap up front and slows
#: the start on a small shared machine for no gain in a dev/test server.
JVM_FLAGS: tuple[str, ...] = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-XX:FlightRecorderOptions=stackdepth=256",
    "-XX:+UnlockDiagnosticVMOptions",
    "-XX:+DebugNonSafepoints",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dlog4j.layout.jsonTemplate.maxStringLength=32768",
    "-Dfile.encoding=UTF-8",
)

_SIZE = re.compile(r"^[1-9][0-9]*[kmgKMG]$")


class Neo4jSettings(Protocol):
    """The settings a managed server is built from (api.settings.Settings has them)."""

    @property
    def neo4j_home(self) -> Path: ...
    @property
    def neo4j_bolt_port(self) -> int: ...
    @property
    def neo4j_user(self) -> str: ...
    @property
    def neo4j_password(self) -> SecretStr: ...
    @property
    def neo4j_heap(self) -> str: ...
    @property
    def neo4j_pagecache(self) -> str: ...


@dataclass(frozen=True)
class ServerConfig:
    """Where and how the managed Neo4j runs; built from Settings at the edge (`from_settings`)."""

    home: Path
    bolt_port: int = 7687
    password: str = field(default="", repr=False)
    user: str = INITIAL_USER
    heap: str = "1g"
    pagecache: str = "512m"
    java: str = "java"
    mvn: str = "mvn"

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())

    @classmethod
    def from_settings(
        cls, settings: Neo4jSettings, *, home: Path | None = None, bolt_port: int | None = None
    ) -> ServerConfig:
        """Build from api.settings.Settings; `bolt_port=0` picks a free port now."""
        port = settings.neo4j_bolt_port if bolt_port is None else bolt_port
        return cls(
            home=home or settings.neo4j_home,
            bolt_port=port or free_port(),
            password=settings.neo4j_password.get_secret_value(),
            user=settings.neo4j_user,
            heap=settings.neo4j_heap,
            pagecache=settings.neo4j_pagecache,
        )

    # -- layout ----------------------------------------------------------------------
    @property
    def lib_dir(self) -> Path:
        return self.home / "lib"

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def conf_file(self) -> Path:
        return self.conf_dir / "neo4j.conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def log_file(self) -> Path:
        """Neo4j's user log (start-up, `Started.`, fatal errors)."""
        return self.logs_dir / "neo4j.log"

    @property
    def console_file(self) -> Path:
        """The JVM's stdout/stderr (errors before Neo4j's logging is up land here)."""
        return self.logs_dir / "console.log"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "crumbgraph-neo4j.pid"

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    def configured_port(self) -> int:
        """The Bolt port of the conf on disk (the running server's), else bolt_port."""
        try:
            text = self.conf_file.read_text()
        except FileNotFoundError:
            return self.bolt_port
        found = re.search(r"^server\.bolt\.listen_address=.*:(\d+)\s*$", text, re.MULTILINE)
        return int(found.group(1)) if found else self.bolt_port

    def validate(self) -> None:
        """Raise ConfigError for settings this server cannot run with."""
        if not 0 < self.bolt_port < 65536:
            raise ConfigError(f"neo4j_bolt_port {self.bolt_port}: expected 1-65535 (0 picks a free port)")
        for name in ("heap", "pagecache"):
            value = getattr(self, name)
            if not _SIZE.match(value):
                raise ConfigError(f"neo4j_{name} {value!r}: expected a size such as 512m or 1g")
        if self.user != INITIAL_USER:
            raise ConfigError(
                f"neo4j_user {self.user!r}: the managed Neo4j Community server only has the user {INITIAL_USER!r}"
            )
        if len(self.password) < MIN_PASSWORD_LENGTH:
            raise ConfigError(f"neo4j_password: Neo4j needs at least {MIN_PASSWORD_LENGTH} characters")


@dataclass(frozen=True)
class StartResult:
    pid: int
    uri: str
    seconds: float  # from launching the JVM until Bolt answered
    fresh: bool  # the data folder was created by this start (cold start)
    already_running: bool = False


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    uri: str
    bolt_ok: bool
    home: Path
    detail: str = ""


# -- pure parts (unit-tested without a JVM) ----------------------------------------------
def render_conf(cfg: ServerConfig) -> str:
    """The neo4j.conf for `cfg`: localhost only, Bolt on cfg.bolt_port, no HTTP, auth on."""
    lines = [
        "# Generated by crumbgraph (ops/neo4j_server.py); rewritten on every start.",
        f"server.directories.data={cfg.data_dir}",
        f"server.directories.logs={cfg.logs_dir}",
        f"server.directories.run={cfg.run_dir}",
        f"server.directories.lib={cfg.lib_dir}",
        f"server.directories.plugins={cfg.home / 'plugins'}",
        f"server.directories.import={cfg.home / 'import'}",
        "server.default_listen_address=127.0.0.1",
        "server.default_advertised_address=127.0.0.1",
        "server.bolt.enabled=true",
        f"server.bolt.listen_address=127.0.0.1:{cfg.bolt_port}",
        f"server.bolt.advertised_address=127.0.0.1:{cfg.bolt_port}",
        "server.http.enabled=false",
        "server.https.enabled=false",
        "dbms.security.auth_enabled=true",
        # Sized for a 2-core machine shared with other work; the JVM gets the same heap flags.
        f"server.memory.heap.initial_size={cfg.heap}",
        f"server.memory.heap.max_size={cfg.heap}",
        f"server.memory.pagecache.size={cfg.pagecache}",
        "db.tx_log.rotation.retention_policy=2 files",
        "db.tx_log.rotation.size=64m",  # default 256m, preallocated per database: 0.5 GB of a fresh home
        "dbms.usage_report.enabled=false",
    ]
    lines += [f"server.jvm.additional={flag}" for flag in JVM_FLAGS]
    return "\n".join(lines) + "\n"


def jvm_command(cfg: ServerConfig) -> list[str]:
    """The command line that runs Neo4j's server entry point for `cfg`."""
    return [
        cfg.java,
        f"-Xms{cfg.heap}",
        f"-Xmx{cfg.heap}",
        *JVM_FLAGS,
        "-cp",
        f"{cfg.lib_dir}/*",
        ENTRY_POINT,
        f"--home-dir={cfg.home}",
        f"--config-dir={cfg.conf_dir}",
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()[:16]


def is_fresh(cfg: ServerConfig) -> bool:
    """True when no database was created yet in cfg.data_dir."""
    return not (cfg.data_dir / "databases" / "system").exists()


# -- jars ----------------------------------------------------------------------------
def fetch_jars(cfg: ServerConfig) -> Path:
    """Copy the pinned Neo4j jars into cfg.lib_dir with Maven (once per POM version)."""
    stamp = cfg.lib_dir / f".crumbgraph-{NEO4J_VERSION}-{pom_digest()}"
    if stamp.exists():
        return cfg.lib_dir
    mvn = shutil.which(cfg.mvn)
    if mvn is None:
        raise ConfigError(f"Maven ({cfg.mvn!r}) is not on PATH; it fetches Neo4j's jars from Maven Central")
    if cfg.lib_dir.exists():  # another version's jars would clash on the classpath
        shutil.rmtree(cfg.lib_dir)
    cfg.lib_dir.mkdir(parents=True)
    proc = subprocess.run(
        [mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={cfg.lib_dir}"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise StoreUnavailable(
            f"fetching Neo4j {NEO4J_VERSION} jars with Maven failed (exit {proc.returncode}):\n{tail}"
        )
    stamp.write_text(f"{NEO4J_VERSION}\n")
    return cfg.lib_dir


def write_conf(cfg: ServerConfig) -> Path:
    for folder in (cfg.conf_dir, cfg.data_dir, cfg.logs_dir, cfg.run_dir):
        folder.mkdir(parents=True, exist_ok=True)
    cfg.conf_file.write_text(render_conf(cfg))
    return cfg.conf_file


def set_initial_password(cfg: ServerConfig) -> None:
    """`neo4j-admin dbms set-initial-password`, run through Neo4j's AdminTool in its own JVM.

    Only has an effect before the first start; later the password lives in the system database.
    """
    env = {**os.environ, "NEO4J_HOME": str(cfg.home), "NEO4J_CONF": str(cfg.conf_dir)}
    proc = subprocess.run(
        [cfg.java, "-cp", f"{cfg.lib_dir}/*", ADMIN_TOOL, "dbms", "set-initial-password", cfg.password],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        # The password is an argument of the command, never part of its output.
        raise StoreUnavailable(
            f"neo4j-admin set-initial-password failed (exit {proc.returncode}): "
            f"{(proc.stdout + proc.stderr).strip()[-2000:]}"
        )


# -- Bolt ----------------------------------------------------------------------------
def check_bolt(uri: str, user: str, password: str, *, database: str = "neo4j", timeout: float = 5.0) -> None:
    """Raise StoreUnavailable unless Neo4j at `uri` accepts these credentials and serves `database`.

    The message names the URI, user and cause, never the password.
    """
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, DriverError, Neo4jError

    try:
        with GraphDatabase.driver(
            uri, auth=(user, password), connection_timeout=timeout, connection_acquisition_timeout=timeout
        ) as driver:
            driver.verify_connectivity()
            driver.execute_query("RETURN 1", database_=database)
    except AuthError as exc:
        raise StoreUnavailable(
            f"Neo4j at {uri} refused the credentials of user {user!r} (wrong password?): {exc.message}"
        ) from None
    except (DriverError, Neo4jError, OSError) as exc:
        raise StoreUnavailable(f"Neo4j at {uri} is not available: {type(exc).__name__}: {exc}") from None


# -- process -------------------------------------------------------------------------
def _proc_alive(pid: int, home: Path) -> bool:
    """True if `pid` is a live (not zombie) Neo4j entry point for `home`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and ENTRY_POINT.encode() in cmdline and f"--home-dir={home}".encode() in cmdline


def read_pid(cfg: ServerConfig) -> int | None:
    """The pid of the running server of cfg.home, or None (a stale pid file is removed)."""
    try:
        pid = int(cfg.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if _proc_alive(pid, cfg.home):
        return pid
    cfg.pid_file.unlink(missing_ok=True)
    return None


def log_tail(cfg: ServerConfig, lines: int = 40) -> str:
    """The last lines of Neo4j's log and the JVM console, for error messages."""
    out = []
    for path in (cfg.log_file, cfg.console_file):
        if path.exists():
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path} (last {len(text)} lines)\n" + "\n".join(text))
    return "\n".join(out) or f"(no log in {cfg.logs_dir})"


def start(cfg: ServerConfig, *, timeout: float = 180.0) -> StartResult:
    """Fetch jars, write the conf, launch the JVM detached, wait until Bolt answers.

    Returns at once if this home's server already runs and answers. Raises ConfigError for bad
    settings or a busy port, StoreUnavailable if Neo4j does not come up (with the log tail).
    """
    cfg.validate()
    pid = read_pid(cfg)
    if pid is not None:  # report the port it runs on, which may differ from the one asked for
        running = replace(cfg, bolt_port=cfg.configured_port())
        check_bolt(running.uri, running.user, running.password)
        return StartResult(pid=pid, uri=running.uri, seconds=0.0, fresh=False, already_running=True)
    if port_in_use(cfg.bolt_port):
        raise ConfigError(
            f"port {cfg.bolt_port} on 127.0.0.1 is already in use by another process; "
            f"choose another (CRUMBGRAPH_NEO4J_BOLT_PORT, or --port 0 for a free one)"
        )
    fetch_jars(cfg)
    if shutil.which(cfg.java) is None:
        raise ConfigError(f"Java ({cfg.java!r}) is not on PATH; Neo4j 5.26 needs Java 17 or 21")
    write_conf(cfg)
    fresh = is_fresh(cfg)
    if fresh:
        set_initial_password(cfg)

    t0 = time.monotonic()
    with open(cfg.console_file, "ab") as console:
        proc = subprocess.Popen(
            jvm_command(cfg),
            cwd=cfg.home,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    cfg.pid_file.write_text(f"{proc.pid}\n")
    _CHILDREN[proc.pid] = proc  # reaped by stop(); a dropped running Popen warns (an error under pytest)

    deadline = t0 + timeout
    last = ""
    while True:
        if proc.poll() is not None:
            cfg.pid_file.unlink(missing_ok=True)
            raise StoreUnavailable(f"Neo4j exited with code {proc.returncode} during start-up\n{log_tail(cfg)}")
        try:
            check_bolt(cfg.uri, cfg.user, cfg.password, timeout=2.0)
            break
        except StoreUnavailable as exc:
            last = str(exc)
            if "refused the credentials" in last:
                stop(cfg)
                raise StoreUnavailable(
                    f"Neo4j in {cfg.home} was initialised with another password than "
                    f"CRUMBGRAPH_NEO4J_PASSWORD; use that one, or delete {cfg.data_dir} to start afresh"
                ) from None
        if time.monotonic() > deadline:
            stop(cfg)
            raise StoreUnavailable(
                f"Neo4j did not answer on {cfg.uri} within {timeout:.0f} s ({last})\n{log_tail(cfg)}"
            )
        time.sleep(0.25)
    return StartResult(pid=proc.pid, uri=cfg.uri, seconds=time.monotonic() - t0, fresh=fresh)


def stop(cfg: ServerConfig, *, timeout: float = 60.0) -> int | None:
    """SIGTERM the server of cfg.home, wait for a clean shutdown, SIGKILL after `timeout`.

    Returns the pid that was stopped, or None if none was running.
    """
    pid = read_pid(cfg)
    if pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _proc_alive(pid, cfg.home) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.2)
    if _proc_alive(pid, cfg.home):
        os.kill(pid, signal.SIGKILL)
        while _proc_alive(pid, cfg.home):
            _reap(pid)
            time.sleep(0.1)
    _reap(pid)
    cfg.pid_file.unlink(missing_ok=True)
    return pid


#: servers started by this process, by pid (stop() collects their exit status)
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _reap(pid: int) -> None:
    """Collect the exit status if the server is our own child (started in this process)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def status(cfg: ServerConfig) -> ServerStatus:
    """Whether the server of cfg.home runs, and whether Bolt accepts cfg's credentials."""
    cfg = replace(cfg, bolt_port=cfg.configured_port())
    pid = read_pid(cfg)
    if pid is None:
        return ServerStatus(running=False, pid=None, uri=cfg.uri, bolt_ok=False, home=cfg.home, detail="not running")
    try:
        check_bolt(cfg.uri, cfg.user, cfg.password)
    except StoreUnavailable as exc:
        return ServerStatus(running=True, pid=pid, uri=cfg.uri, bolt_ok=False, home=cfg.home, detail=str(exc))
    return ServerStatus(running=True, pid=pid, uri=cfg.uri, bolt_ok=True, home=cfg.home, detail="ok")
