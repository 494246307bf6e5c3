#!/usr/bin/python3
"""Starts and stops the test servers: Orthanc (+DICOMweb), the Medplum-based FHIR server, PostgreSQL.

Also a fault-injecting proxy in front of Orthanc (fault-proxy/proxy.mjs) for resilience tests.
Everything listens on loopback (Orthanc: RemoteAccessAllowed=false, since it has no bind setting),
on free ports, with storage in a fresh temp directory that is deleted on stop.

  testenv.py run   [--state-dir D] [--owner-pid P] [--stdin-watch] [--keep] [--without orthanc,fhir,postgres]
      Foreground supervisor: starts the servers, writes D/env.json and D/env.sh, prints one JSON line
      {"event":"ready",...} on stdout, then stops everything when it gets SIGINT/SIGTERM/SIGHUP, when its
      stdin closes (--stdin-watch), or when the owner process (--owner-pid) is gone.
  testenv.py start [--state-dir D] [--owner-pid P] [--json]
      Starts a detached supervisor (owner: the calling process unless --owner-pid) and returns once the
      servers answer; prints D/env.sh (or env.json with --json). Idempotent: a live environment is reused.
  testenv.py stop  [--state-dir D]      Stops what `start` started.
  testenv.py env   [--state-dir D] [--json]

Works as root (PostgreSQL runs as the `postgres` user then) and as an ordinary user.
"""
import argparse
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_STATE_DIR = os.path.join(REPO, ".cdsrisk", "testenv")
FHIR_DIR = os.path.join(HERE, "fhir-server")
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
# Orthanc's OnStableStudy callback that asks the service to score each study when it arrives (issue 15 item 4).
SCORING_LUA = os.path.join(REPO, "scripts", "orthanc", "cdsrisk-score-on-stable-study.lua")
READY_TIMEOUT_S = 60
PR_SET_PDEATHSIG = 1


class EnvError(Exception):
    """A clear, expected failure (missing package, server that never answered)."""


def log(msg):
    print(f"testenv: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent(uid=None, gid=None, sig=signal.SIGTERM):
    """preexec_fn: optionally drop to uid/gid, then ask the kernel to signal us when the supervisor dies.
    PDEATHSIG is reset by a credential change, so it is set after setuid."""
    def fn():
        os.setsid()
        if gid is not None:
            os.setgroups([])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig))
    return fn


def http_ok(url, headers=None, timeout=1.0):
    try:
        req = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return 200 <= r.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def find_node():
    candidates = [os.environ.get("CDSRISK_NODE"), os.path.join(REPO, ".cdsrisk", "node", "bin", "node"), shutil.which("node")]
    for c in candidates:
        if not c or not os.path.exists(c):
            continue
        try:
            out = subprocess.run([c, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
            major, minor = (int(x) for x in out.lstrip("v").split(".")[:2])
            if (major, minor) >= (20, 19):
                return c
        except (OSError, ValueError, subprocess.SubprocessError):
            continue
    raise EnvError("no Node.js >= 20.19 found (run scripts/setup.sh)")


class Supervisor:
    def __init__(self, state_dir, keep, without):
        self.state_dir = state_dir
        self.keep = keep
        self.without = without
        self.procs = {}   # name -> Popen
        self.logs = {}
        self.env = {}
        self.temp_dir = None
        self.stopping = threading.Event()

    # ---- start -------------------------------------------------------------------------------
    def start(self):
        t0 = time.monotonic()
        sweep_stale_temp_dirs()
        self.temp_dir = tempfile.mkdtemp(prefix="cdsrisk-testenv-")
        with open(os.path.join(self.temp_dir, "supervisor.pid"), "w") as f:
            f.write(str(os.getpid()))
        os.chmod(self.temp_dir, 0o711)  # PostgreSQL (another user when we are root) must reach its subdir
        self.env["tempDir"] = self.temp_dir
        self.env["supervisorPid"] = os.getpid()
        os.makedirs(self.state_dir, exist_ok=True)
        waiters = []
        if "fhir" not in self.without:
            waiters.append(self._start_fhir())
        if "orthanc" not in self.without:
            waiters.append(self._start_orthanc())
        if "postgres" not in self.without:
            waiters.append(self._start_postgres())
        for wait in waiters:
            wait()
        self.env["startSeconds"] = round(time.monotonic() - t0, 2)
        self.env["envFile"] = os.path.join(self.state_dir, "env.json")
        self._write_env()

    def _spawn(self, name, argv, uid=None, gid=None, stdout=None, cwd=None, death_signal=signal.SIGTERM):
        log_path = os.path.join(self.temp_dir, f"{name}.log")
        self.logs[name] = log_path
        logf = open(log_path, "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout or logf, stderr=logf, cwd=cwd,
                             preexec_fn=_die_with_parent(uid, gid, death_signal), close_fds=True)
        logf.close()
        self.procs[name] = p
        return p

    def _log_tail(self, name, n=20):
        try:
            with open(self.logs[name], "r", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def _wait_until(self, name, check, what):
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            p = self.procs[name]
            if p.poll() is not None:
                raise EnvError(f"{name} exited with code {p.returncode} before {what}:\n{self._log_tail(name)}")
            if check():
                return
            time.sleep(0.05)
        raise EnvError(f"{name}: no answer within {READY_TIMEOUT_S}s ({what}):\n{self._log_tail(name)}")

    def _start_fhir(self):
        node = find_node()
        if not os.path.isdir(os.path.join(FHIR_DIR, "node_modules", "@medplum", "fhir-router")):
            log("installing the FHIR server's npm packages (npm ci)")
            npm = os.path.join(os.path.dirname(node), "npm")
            npm = npm if os.path.exists(npm) else "npm"
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=FHIR_DIR, check=True,
                           stdout=sys.stderr)
        token = "fhir-" + secrets.token_urlsafe(24)
        admin = "admin-" + secrets.token_urlsafe(24)
        p = self._spawn("fhir", [node, "server.mjs", "--port", "0", "--token", token, "--admin-token", admin,
                                 "--parent-pid", str(os.getpid())], stdout=subprocess.PIPE, cwd=FHIR_DIR)

        def wait():
            line = p.stdout.readline().decode("utf-8", "replace").strip()
            p.stdout.close()
            try:
                info = json.loads(line)
            except json.JSONDecodeError:
                p.wait(timeout=5)
                raise EnvError(f"FHIR server did not start:\n{self._log_tail('fhir')}") from None
            base = info["baseUrl"]
            self._wait_until("fhir", lambda: http_ok(base + "/metadata"), "GET /metadata answered")
            root = base.rsplit("/fhir", 1)[0]
            self.env.update(fhirBaseUrl=base, fhirToken=token, fhirAdminUrl=root + "/__admin", fhirAdminToken=admin,
                            fhirPort=info["port"], fhirPid=p.pid)
        return wait

    def _start_orthanc(self):
        orthanc = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
        if not os.path.exists(orthanc) or not os.path.exists(DICOMWEB_PLUGIN):
            raise EnvError("Orthanc or its DICOMweb plugin is missing (apt-get install orthanc orthanc-dicomweb; scripts/setup.sh)")
        root = os.path.join(self.temp_dir, "orthanc")
        os.makedirs(os.path.join(root, "storage"))
        http_port, dicom_port = free_port(), free_port()
        # The service is started later (by a test or the demo) on this port, with Scoring:Clients trusting this API key.
        scoring_port, scoring_key = free_port(), "pacs-" + secrets.token_urlsafe(24)
        config = {
            "Name": "CdsRiskTest",
            "HttpPort": http_port,
            "DicomPort": dicom_port,
            "DicomServerEnabled": False,
            # Orthanc 1.10 has no bind-address setting: it listens on all interfaces, so refuse non-loopback clients.
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "StorageDirectory": os.path.join(root, "storage"),
            "IndexDirectory": root,
            "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
            "OverwriteInstances": True,
            "HttpThreadsCount": 16,
            "KeepAlive": True,
            "TcpNoDelay": True,
            "StorageCompression": False,
            "ConcurrentJobs": 2,
            "LuaScripts": [SCORING_LUA],
            "StableAge": 1,  # seconds without a new instance before OnStableStudy (a PACS uses about 60)
            "CdsRisk": {"ScoringJobsUrl": f"http://127.0.0.1:{scoring_port}/api/scoring-jobs", "ApiKey": scoring_key},
        }
        cfg_path = os.path.join(root, "orthanc.json")
        with open(cfg_path, "w") as f:
            json.dump(config, f, indent=2)
        self._spawn("orthanc", [orthanc, "--no-jobs", cfg_path])
        url = f"http://127.0.0.1:{http_port}"
        # A fault-injecting proxy in front of Orthanc for resilience tests (slow, 500, truncated multipart, ...).
        proxy_admin = "admin-" + secrets.token_urlsafe(24)
        proxy = self._spawn("dicomweb-proxy", [find_node(), "proxy.mjs", "--target", url, "--port", "0",
                                               "--admin-token", proxy_admin, "--parent-pid", str(os.getpid())],
                            stdout=subprocess.PIPE, cwd=os.path.join(HERE, "fault-proxy"))

        def wait():
            self._wait_until("orthanc", lambda: http_ok(url + "/system") and http_ok(url + "/dicom-web/studies"),
                             "GET /system and QIDO /dicom-web/studies answered")
            self.env.update(orthancUrl=url, dicomWebBaseUrl=url + "/dicom-web", orthancPort=http_port,
                            orthancPid=self.procs["orthanc"].pid, scoringCallbackPort=scoring_port, scoringApiKey=scoring_key)
            line = proxy.stdout.readline().decode("utf-8", "replace").strip()
            proxy.stdout.close()
            try:
                purl = json.loads(line)["baseUrl"]
            except (json.JSONDecodeError, KeyError):
                proxy.wait(timeout=5)
                raise EnvError(f"DICOMweb fault proxy did not start:\n{self._log_tail('dicomweb-proxy')}") from None
            self._wait_until("dicomweb-proxy", lambda: http_ok(purl + "/dicom-web/studies"), "QIDO through the proxy")
            self.env.update(dicomWebProxyBaseUrl=purl + "/dicom-web", dicomWebProxyAdminUrl=purl + "/__admin",
                            dicomWebProxyAdminToken=proxy_admin)
        return wait

    def _pg_bin(self, name):
        base = "/usr/lib/postgresql"
        if os.path.isdir(base):
            for v in sorted(os.listdir(base), key=lambda s: int(s) if s.isdigit() else 0, reverse=True):
                cand = os.path.join(base, v, "bin", name)
                if os.path.exists(cand):
                    return cand
        found = shutil.which(name)
        if not found:
            raise EnvError(f"PostgreSQL's {name} is missing (apt-get install postgresql; scripts/setup.sh)")
        return found

    def _start_postgres(self):
        initdb, postgres = self._pg_bin("initdb"), self._pg_bin("postgres")
        uid = gid = None
        if os.geteuid() == 0:
            import pwd
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise EnvError("running as root but there is no 'postgres' user to run PostgreSQL as") from None
            uid, gid = pw.pw_uid, pw.pw_gid
        root = os.path.join(self.temp_dir, "postgres")
        data = os.path.join(root, "data")
        os.makedirs(root, mode=0o700)
        user, password, database = "cdsrisk", secrets.token_urlsafe(18), "cdsrisk"
        pwfile = os.path.join(root, "pwfile")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        if uid is not None:
            for path in (root, pwfile):
                os.chown(path, uid, gid)
        r = subprocess.run([initdb, "-D", data, "-U", user, "--pwfile", pwfile, "--auth=scram-sha-256",
                            "--encoding=UTF8", "--locale=C", "--no-sync"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           preexec_fn=_die_with_parent(uid, gid), cwd=root)
        os.unlink(pwfile)
        if r.returncode != 0:
            raise EnvError(f"initdb failed ({r.returncode}):\n{r.stderr[-2000:]}")
        port = free_port()
        self._spawn("postgres", [postgres, "-D", data, "-p", str(port),
                                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
                                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                                 "-c", "max_connections=200", "-c", "shared_buffers=64MB"],
                    uid=uid, gid=gid, cwd=root, death_signal=signal.SIGINT)  # SIGINT = fast shutdown

        def wait():
            isready = self._pg_bin("pg_isready")
            self._wait_until("postgres", lambda: subprocess.run(
                [isready, "-q", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", "postgres"],
                stdin=subprocess.DEVNULL).returncode == 0, "pg_isready")
            psql = self._pg_bin("psql")
            r = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", "postgres", "-v",
                                "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {database}"],
                               env={**os.environ, "PGPASSWORD": password}, capture_output=True, text=True)
            if r.returncode != 0:
                raise EnvError(f"CREATE DATABASE failed: {r.stderr.strip()}")
            self.env.update(postgresHost="127.0.0.1", postgresPort=port, postgresUser=user,
                            postgresPassword=password, postgresDatabase=database,
                            postgresConnectionString=f"Host=127.0.0.1;Port={port};Username={user};Password={password};Database={database}",
                            postgresPid=self.procs["postgres"].pid)
        return wait

    def _write_env(self):
        path = os.path.join(self.state_dir, "env.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.env, f, indent=2)
        os.replace(tmp, path)
        names = {
            "fhirBaseUrl": "CDSRISK_FHIR_BASE_URL", "fhirToken": "CDSRISK_FHIR_TOKEN",
            "fhirAdminUrl": "CDSRISK_FHIR_ADMIN_URL", "fhirAdminToken": "CDSRISK_FHIR_ADMIN_TOKEN",
            "orthancUrl": "CDSRISK_ORTHANC_URL", "dicomWebBaseUrl": "CDSRISK_DICOMWEB_BASE_URL",
            "dicomWebProxyBaseUrl": "CDSRISK_DICOMWEB_PROXY_BASE_URL",
            "postgresConnectionString": "CDSRISK_POSTGRES", "tempDir": "CDSRISK_TESTENV_TMP",
            "supervisorPid": "CDSRISK_TESTENV_PID",
        }
        with open(os.path.join(self.state_dir, "env.sh"), "w") as f:
            for key, var in names.items():
                if key in self.env:
                    f.write(f"export {var}='{self.env[key]}'\n")
        os.chmod(path, 0o600)

    # ---- stop --------------------------------------------------------------------------------
    def stop(self):
        if self.stopping.is_set():
            return
        self.stopping.set()
        # FHIR and Orthanc first (they only serve), PostgreSQL last with a fast shutdown.
        for name, sig in (("fhir", signal.SIGTERM), ("dicomweb-proxy", signal.SIGTERM), ("orthanc", signal.SIGTERM),
                          ("postgres", signal.SIGINT)):
            p = self.procs.get(name)
            if p and p.poll() is None:
                try:
                    p.send_signal(sig)
                except ProcessLookupError:
                    pass
        for name, p in self.procs.items():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in 10 s: killing it")
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        for f in ("env.json", "env.sh"):
            try:
                os.unlink(os.path.join(self.state_dir, f))
            except FileNotFoundError:
                pass
        if self.temp_dir and not self.keep:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie owner counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
    return True


def sweep_stale_temp_dirs():
    """Removes temp dirs left by a supervisor that was killed outright (SIGKILL leaves no chance to clean up)."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        path = os.path.join(base, name)
        if not name.startswith("cdsrisk-testenv-") or name.startswith("cdsrisk-testenv-state-"):
            continue
        try:
            with open(os.path.join(path, "supervisor.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if not pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)


def cmd_run(args):
    own_state_dir = not args.state_dir
    state_dir = args.state_dir or tempfile.mkdtemp(prefix="cdsrisk-testenv-state-")
    sup = Supervisor(state_dir, args.keep, set(filter(None, (args.without or "").split(","))))
    done = threading.Event()
    reason = {"why": "signal"}

    def on_signal(signum, _frame):
        reason["why"] = f"signal {signal.Signals(signum).name}"
        done.set()
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    if args.stdin_watch:
        def watch_stdin():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except OSError:
                pass
            reason["why"] = "stdin closed"
            done.set()
        threading.Thread(target=watch_stdin, daemon=True).start()

    owner = args.owner_pid
    parent = os.getppid()
    try:
        sup.start()
    except BaseException as e:  # noqa: BLE001 - always clean up what was started
        sup.stop()
        if isinstance(e, EnvError):
            print(json.dumps({"event": "failed", "error": str(e)}), flush=True)
            log(str(e))
            return 1
        raise
    with open(os.path.join(state_dir, "supervisor.pid"), "w") as f:
        f.write(str(os.getpid()))
    print(json.dumps({"event": "ready", **sup.env}), flush=True)
    log(f"ready in {sup.env['startSeconds']} s; state in {state_dir}")

    reported = set()
    while not done.wait(0.25):
        if owner and not pid_alive(owner):
            reason["why"] = f"owner process {owner} is gone"
            break
        if args.stdin_watch and os.getppid() != parent:
            reason["why"] = "parent process is gone"
            break
        for name, p in sup.procs.items():
            if p.poll() is not None and name not in reported:
                reported.add(name)  # the others stay up: a test may have stopped this one on purpose
                log(f"{name} exited unexpectedly with code {p.returncode}")
    log(f"stopping ({reason['why']})")
    sup.stop()
    try:
        os.unlink(os.path.join(state_dir, "supervisor.pid"))
    except FileNotFoundError:
        pass
    if own_state_dir and not args.keep:
        shutil.rmtree(state_dir, ignore_errors=True)
    return 0


def read_pid(state_dir):
    try:
        with open(os.path.join(state_dir, "supervisor.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def print_env(state_dir, as_json):
    with open(os.path.join(state_dir, "env.json" if as_json else "env.sh")) as f:
        sys.stdout.write(f.read())


def cmd_start(args):
    state_dir = args.state_dir or DEFAULT_STATE_DIR
    os.makedirs(state_dir, exist_ok=True)
    pid = read_pid(state_dir)
    if pid and pid_alive(pid) and os.path.exists(os.path.join(state_dir, "env.json")):
        log(f"already running (supervisor {pid}); reusing it")
        print_env(state_dir, args.json)
        return 0
    for f in ("env.json", "env.sh", "supervisor.pid"):
        try:
            os.unlink(os.path.join(state_dir, f))
        except FileNotFoundError:
            pass
    owner = args.owner_pid or os.getppid()
    log_path = os.path.join(state_dir, "supervisor.log")
    with open(log_path, "ab") as logf:
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "run", "--state-dir", state_dir,
                              "--owner-pid", str(owner)] + (["--keep"] if args.keep else []),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=logf,
                             start_new_session=True, close_fds=True)
    deadline = time.monotonic() + READY_TIMEOUT_S + 30
    while time.monotonic() < deadline:
        if os.path.exists(os.path.join(state_dir, "env.json")) and read_pid(state_dir):
            print_env(state_dir, args.json)
            return 0
        if p.poll() is not None:
            with open(log_path, errors="replace") as f:
                log("the test environment failed to start:\n" + "".join(f.readlines()[-30:]))
            return 1
        time.sleep(0.1)
    p.terminate()
    log("the test environment did not become ready in time")
    return 1


def cmd_stop(args):
    state_dir = args.state_dir or DEFAULT_STATE_DIR
    pid = read_pid(state_dir)
    if not pid or not pid_alive(pid):
        log("nothing running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    if pid_alive(pid):
        log(f"supervisor {pid} did not stop; killing it (its servers die with it)")
        os.kill(pid, signal.SIGKILL)
    log("stopped")
    return 0


def cmd_env(args):
    state_dir = args.state_dir or DEFAULT_STATE_DIR
    try:
        print_env(state_dir, args.json)
    except FileNotFoundError:
        log("not running")
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--state-dir")
    r.add_argument("--owner-pid", type=int)
    r.add_argument("--stdin-watch", action="store_true")
    r.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data) after stop")
    r.add_argument("--without", help="comma list of servers not to start: orthanc,fhir,postgres")
    s = sub.add_parser("start")
    s.add_argument("--state-dir")
    s.add_argument("--owner-pid", type=int)
    s.add_argument("--json", action="store_true")
    s.add_argument("--keep", action="store_true")
    t = sub.add_parser("stop")
    t.add_argument("--state-dir")
    e = sub.add_parser("env")
    e.add_argument("--state-dir")
    e.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        return {"run": cmd_run, "start": cmd_start, "stop": cmd_stop, "env": cmd_env}[args.cmd](args)
    except EnvError as err:
        log(str(err))
        return 1


if __name__ == "__main__":
    sys.exit(main())
