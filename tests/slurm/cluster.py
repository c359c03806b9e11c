"""A real single-node Slurm cluster under a temporary folder, for the tests.

Debian's munged, mariadbd + slurmdbd (accounting), slurmctld and slurmd, each started in
the foreground (``-D``/``-F``) as a child process with its config, state, spool, logs,
sockets and PID files under ROOT, and stopped by its recorded PID. Client commands get
``SLURM_CONF`` through :attr:`SlurmCluster.env` (or :meth:`SlurmCluster.activate`).

Settings that matter on these machines (Slurm 22.05, no systemd, no cgroups):
proctrack/linuxproc, task/none, select/cons_tres; the node line from ``slurmd -C``
(a RealMemory above what slurmd detects drains the node); EnforcePartLimits=ALL (else an
oversized request stays pending forever); batch_sched_delay=0 (else each job waits 3 s).
slurmdbd has no ``-f``: it reads slurmdbd.conf beside $SLURM_CONF. The node has two
fake GPUs (``gres/gpu`` on links to /dev/null) so GPU requests are accepted and accounted.

Run ``python -m tests.slurm.cluster`` to start one by hand and try commands on it.
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "scontrol", "sinfo", "scancel")
ACCOUNTING = ("slurmdbd", "mariadbd", "mariadb-install-db", "sacct", "sacctmgr")
GPUS = 2
ACCOUNT = "lpmtest"


class ClusterUnavailable(RuntimeError):
    """The cluster cannot be started here (packages missing, a daemon that will not start)."""


def missing_programs(accounting: bool = True) -> list[str]:
    """The programs a cluster needs that are not on PATH."""
    need = DAEMONS + CLIENTS + (ACCOUNTING if accounting else ())
    return [p for p in need if shutil.which(p) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _node_line(name: str, port: int) -> str:
    """The node's hardware as ``slurmd -C`` sees it, renamed to NAME, with the GPUs."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30).stdout
    line = next((x for x in out.splitlines() if x.startswith("NodeName=")), None)
    if line is None:
        raise ClusterUnavailable(f"slurmd -C printed no node line: {out!r}")
    hw = " ".join(p for p in line.split()[1:] if not p.startswith("UpTime"))
    return f"NodeName={name} NodeAddr=127.0.0.1 Port={port} {hw} Gres=gpu:{GPUS} State=UNKNOWN"


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen
    log: Path


@dataclass
class SlurmCluster:
    """One cluster: ``start()``, run jobs with ``sbatch``/``run``, ``stop()``."""

    root: Path
    accounting: bool = True
    node: str = "lpmnode"
    partition: str = "debug"
    user: str = field(default_factory=getpass.getuser)
    energy_w: float | None = None  # the fake energy counter's power (None: no energy plugin)
    energy_note: str = ""
    nodes: int = 1  # more than one: slurmd's named NODE1, NODE2, ... on this machine
    daemons: list[Daemon] = field(default_factory=list)

    # -- paths ----------------------------------------------------------------------

    @property
    def node_names(self) -> list[str]:
        """The nodes' names: NODE alone, or NODE1..NODEn for several."""
        if self.nodes == 1:
            return [self.node]
        return [f"{self.node}{i}" for i in range(1, self.nodes + 1)]

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.root / "munge" / "munge.socket"

    @property
    def env(self) -> dict[str, str]:
        """The environment of a client call: this process's, with SLURM_CONF."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        for name in list(env):
            if name.startswith(("SLURM_", "SBATCH_", "SRUN_")) and name != "SLURM_CONF":
                del env[name]
        return env

    @contextmanager
    def activate(self) -> Iterator[None]:
        """SLURM_CONF set in os.environ for the block (for code that calls Slurm itself)."""
        old = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = str(self.conf)
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("SLURM_CONF", None)
            else:
                os.environ["SLURM_CONF"] = old

    # -- start and stop -------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> None:
        """Write the configs, start every daemon and wait until the node is idle."""
        missing = missing_programs(self.accounting)
        if missing:
            raise ClusterUnavailable(f"not installed: {', '.join(missing)} (run make slurm)")
        for sub in ("etc", "munge", "state", "spool", "log", "run", "db"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        try:
            self._start_munge()
            if self.accounting:
                self._start_database(timeout_s)
            self._write_slurm_conf()
            if self.accounting:
                self._start("slurmdbd", ["slurmdbd", "-D"])
                self._wait_port(self._dbd_port, "slurmdbd", timeout_s)
            self._start("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
            self._wait(["scontrol", "ping"], "slurmctld", timeout_s, expect="UP")
            if self.accounting:
                self._add_account()
            if self.energy_w is not None:
                self._start_counter()
            for name in self.node_names:
                (self.root / "spool" / name).mkdir(exist_ok=True)
                slurmd = ["slurmd", "-D", "-f", str(self.conf), "-N", name]
                if self.energy_w is not None:
                    slurmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                              self._bind_script(), "slurmd", *slurmd]  # fmt: skip
                self._start(f"slurmd-{name}", slurmd)
            self._wait_idle(timeout_s)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Cancel what still runs, stop every daemon by its PID, last started first
        (SIGTERM, then SIGKILL), then kill job steps the daemons left (slurmstepd outlives
        slurmd) and their processes: those whose environment names this cluster's conf."""
        if any(d.name == "slurmctld" and d.proc.poll() is None for d in self.daemons):
            self._cancel_all()
        for d in reversed(self.daemons):
            if d.proc.poll() is None:
                d.proc.send_signal(signal.SIGTERM)
                try:
                    d.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    d.proc.kill()
                    d.proc.wait(timeout=15)
        self.daemons.clear()
        shutil.rmtree(self.root / "db" / "data", ignore_errors=True)  # ~100 MB; logs stay
        for pid in self._stray_processes():
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def _cancel_all(self) -> None:
        try:
            res = self.run(["squeue", "-h", "-o", "%i"], check=False, timeout=10)
            ids = res.stdout.split()
            if not ids:
                return
            self.run(["scancel", *ids], check=False, timeout=10)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if not self.run(
                    ["squeue", "-h", "-o", "%i"], check=False, timeout=10
                ).stdout.strip():
                    return
                time.sleep(0.2)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def _stray_processes(self) -> list[int]:
        """Job steps and job processes of this cluster still alive (never this process)."""
        mark = f"SLURM_CONF={self.conf}".encode()
        mine = {os.getpid(), os.getppid()}
        out = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) in mine:
                continue
            try:
                env = (proc / "environ").read_bytes().split(b"\0")
                cmd = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if mark in env and (
                cmd.startswith(b"slurmstepd") or any(e.startswith(b"SLURM_JOB_ID=") for e in env)
            ):
                out.append(int(proc.name))
        return out

    def _start(self, name: str, argv: list[str], **kw: object) -> Daemon:
        log = self.root / "log" / f"{name}.out"
        fh = open(log, "ab")  # noqa: SIM115 - the daemon writes it until stopped
        proc = subprocess.Popen(
            argv,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.root,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            **kw,  # type: ignore[arg-type]
        )
        fh.close()
        (self.root / "run" / f"{name}.pid").write_text(f"{proc.pid}\n")
        daemon = Daemon(name, proc, log)
        self.daemons.append(daemon)
        return daemon

    def _check_alive(self, name: str) -> None:
        for d in self.daemons:
            if d.name == name and d.proc.poll() is not None:
                tail = d.log.read_text(errors="replace")[-2000:]
                raise ClusterUnavailable(f"{name} exited with {d.proc.returncode}: {tail}")

    def _wait(
        self, argv: list[str], name: str, timeout_s: float, expect: str | None = None
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_alive(name)
            res = self.run(argv, check=False, timeout=10)
            if res.returncode == 0 and (expect is None or expect in res.stdout):
                return
            time.sleep(0.1)
        raise ClusterUnavailable(f"{name} did not answer {' '.join(argv)} in {timeout_s:g} s")

    def _wait_port(self, port: int, name: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_alive(name)
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise ClusterUnavailable(f"{name} did not listen on port {port} in {timeout_s:g} s")

    def _wait_idle(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for name in self.node_names:
                self._check_alive(f"slurmd-{name}")
            res = self.run(["sinfo", "-h", "-N", "-o", "%T"], check=False, timeout=10)
            states = res.stdout.split()
            if len(states) == len(self.node_names) and set(states) == {"idle"}:
                return
            if any("drain" in x for x in states):
                info = self.run(["scontrol", "show", "node"], check=False).stdout
                raise ClusterUnavailable(f"a node is drained: {' '.join(info.split())}")
            time.sleep(0.1)
        raise ClusterUnavailable(f"the nodes were not idle in {timeout_s:g} s")

    # -- the daemons ----------------------------------------------------------------

    @property
    def counters(self) -> Path:
        """The fake HPE Cray pm_counters folder slurmd sees at /sys/cray/pm_counters."""
        return self.root / "pm_counters"

    def _start_counter(self) -> None:
        """A process that keeps ``energy`` at energy_w watts since it started (and ``power``)."""
        self.counters.mkdir(exist_ok=True)
        code = (
            "import os, sys, time\n"
            "d, w = sys.argv[1], float(sys.argv[2]); t0 = time.monotonic()\n"
            "def put(name, text):\n"
            "    tmp = os.path.join(d, '.' + name)\n"
            "    with open(tmp, 'w') as fh: fh.write(text)\n"
            "    os.replace(tmp, os.path.join(d, name))\n"
            "while True:\n"
            "    put('power', f'{w:.0f} W\\n')\n"
            "    put('energy', f'{w * (time.monotonic() - t0):.0f} J\\n')\n"
            "    time.sleep(0.05)\n"
        )
        self._start(
            "pm_counters", [sys.executable, "-c", code, str(self.counters), str(self.energy_w)]
        )
        deadline = time.monotonic() + 10
        while not (self.counters / "energy").exists():
            self._check_alive("pm_counters")
            if time.monotonic() > deadline:
                raise ClusterUnavailable("the fake pm_counters made no energy file in 10 s")
            time.sleep(0.05)

    def _bind_script(self) -> str:
        """Shell run by ``unshare -m`` before slurmd: /sys rebuilt on a tmpfs from binds of
        the real one, with the fake counters at /sys/cray/pm_counters (sysfs has no mkdir)."""
        real = self.root / "realsys"
        real.mkdir(exist_ok=True)
        return (
            "set -e; "
            f"mount --rbind /sys {real}; mount -t tmpfs lpm-sys /sys; "
            f"for e in {real}/*; do n=/sys/${{e##*/}}; mkdir $n; mount --rbind $e $n; done; "
            f"mkdir -p /sys/cray/pm_counters; mount --bind {self.counters} /sys/cray/pm_counters; "
            'exec "$@"'
        )

    def _start_munge(self) -> None:
        key = self.root / "munge" / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o400)
        (self.root / "munge").chmod(0o755)
        self._start(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--key-file={key}",
                f"--socket={self.munge_socket}",
                f"--pid-file={self.root / 'run' / 'munged.pid'}",
                f"--log-file={self.root / 'log' / 'munged.log'}",
                f"--seed-file={self.root / 'munge' / 'munged.seed'}",
            ],
        )
        deadline = time.monotonic() + 10
        while not self.munge_socket.exists():
            self._check_alive("munged")
            if time.monotonic() > deadline:
                raise ClusterUnavailable("munged made no socket in 10 s")
            time.sleep(0.05)

    def _start_database(self, timeout_s: float) -> None:
        data = self.root / "db" / "data"
        self._db_port = _free_port()
        self._db_socket = self.root / "db" / "mysqld.sock"
        res = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={data}",
                f"--user={self.user}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if res.returncode != 0:
            raise ClusterUnavailable(f"mariadb-install-db failed: {res.stderr[-1000:]}")
        init = self.root / "db" / "init.sql"
        init.write_text(
            "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';\n"
            "GRANT ALL ON *.* TO 'slurm'@'127.0.0.1';\nFLUSH PRIVILEGES;\n"
        )
        self._start(
            "mariadbd",
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={data}",
                f"--socket={self._db_socket}",
                f"--port={self._db_port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.root / 'run' / 'mariadbd.pid'}",
                f"--init-file={init}",
                f"--user={self.user}",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                "--skip-name-resolve",
            ],
        )
        self._wait_port(self._db_port, "mariadbd", timeout_s)

    def _add_account(self) -> None:
        """The account the tests charge jobs to, with this user in it."""
        for args in (
            ["add", "account", ACCOUNT, "Description=lpm tests", "Organization=lpm"],
            ["add", "user", self.user, f"Account={ACCOUNT}"],
        ):
            res = self.run(["sacctmgr", "-i", *args], check=False, timeout=30)
            if res.returncode != 0 and "Nothing new added" not in res.stdout + res.stderr:
                raise ClusterUnavailable(f"sacctmgr {' '.join(args)}: {res.stderr}")

    def _write_slurm_conf(self) -> None:
        r = self.root
        self._ctld_port = _free_port()
        lines = [
            "ClusterName=lpmtest",
            f"SlurmctldHost={socket.gethostname()}(127.0.0.1)",
            f"SlurmctldPort={self._ctld_port}",
            f"SlurmUser={self.user}",
            f"SlurmdUser={self.user}",
            "AuthType=auth/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool' / '%n'}",
            f"SlurmctldPidFile={r / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'run' / 'slurmd-%n.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd-%n.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "GresTypes=gpu",
            "EnforcePartLimits=ALL",
            "SchedulerParameters=batch_sched_delay=0",
            "SchedulerType=sched/backfill",
            "MpiDefault=none",
            "ReturnToService=2",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            "InactiveLimit=0",
            "KillWait=2",
            "MinJobAge=300",
            "Waittime=0",
            "JobAcctGatherType=jobacct_gather/linux",
            "JobAcctGatherFrequency=task=1,energy=1",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            *(_node_line(name, _free_port()) for name in self.node_names),
            f"PartitionName={self.partition} Nodes={','.join(self.node_names)} Default=YES "
            "MaxTime=INFINITE State=UP",
        ]
        if self.energy_w is not None:
            lines += ["AcctGatherEnergyType=acct_gather_energy/pm_counters", "AcctGatherNodeFreq=1"]
        if self.accounting:
            self._dbd_port = _free_port()
            lines += [
                "AccountingStorageType=accounting_storage/slurmdbd",
                "AccountingStorageHost=127.0.0.1",
                f"AccountingStoragePort={self._dbd_port}",
                f"AccountingStoragePass={self.munge_socket}",
                "AccountingStorageTRES=gres/gpu",
            ]
            dbd = r / "etc" / "slurmdbd.conf"
            dbd.write_text(
                "\n".join(
                    [
                        "AuthType=auth/munge",
                        f"AuthInfo=socket={self.munge_socket}",
                        f"DbdHost={socket.gethostname()}",
                        "DbdAddr=127.0.0.1",
                        f"DbdPort={self._dbd_port}",
                        f"SlurmUser={self.user}",
                        f"LogFile={r / 'log' / 'slurmdbd.log'}",
                        f"PidFile={r / 'run' / 'slurmdbd.pid'}",
                        "StorageType=accounting_storage/mysql",
                        "StorageHost=127.0.0.1",
                        f"StoragePort={self._db_port}",
                        "StorageUser=slurm",
                        "StoragePass=slurm",
                        "StorageLoc=slurm_acct_db",
                        "DebugLevel=info",
                    ]
                )
                + "\n"
            )
            dbd.chmod(0o600)
        # slurmd drops file-less GPUs and wants character devices: links to /dev/null
        dev = r / "dev"
        dev.mkdir(exist_ok=True)
        for i in range(GPUS):
            link = dev / f"nvidia{i}"
            if not link.is_symlink():
                link.symlink_to("/dev/null")
        (r / "etc" / "gres.conf").write_text(f"Name=gpu File={dev}/nvidia[0-{GPUS - 1}]\n")
        self.conf.write_text("\n".join(lines) + "\n")

    # -- using it -------------------------------------------------------------------

    def run(
        self, argv: list[str], *, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command against this cluster."""
        res = subprocess.run(argv, capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and res.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({res.returncode}): {res.stderr}")
        return res

    def sbatch(self, *args: str) -> str:
        """Submit a job (``sbatch --parsable ARGS``); its job id."""
        out = self.run(["sbatch", "--parsable", *args]).stdout.strip()
        return out.split(";")[0]

    def state(self, job_id: str) -> str:
        """The job's state from the controller (squeue), else from accounting (sacct)."""
        res = self.run(["squeue", "-h", "-j", job_id, "-o", "%T"], check=False)
        if res.returncode == 0 and res.stdout.strip():
            return res.stdout.strip()
        if self.accounting:
            res = self.run(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"], check=False)
            if res.stdout.strip():
                return res.stdout.split()[0]
        res = self.run(["scontrol", "show", "job", job_id], check=False)
        m = re.search(r"JobState=(\S+)", res.stdout)
        return m.group(1) if m else "UNKNOWN"

    def wait(self, job_id: str, timeout_s: float = 60) -> str:
        """Wait until the job has ended; its final state."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.state(job_id)
            if state not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED"):
                return state
            time.sleep(0.2)
        raise TimeoutError(f"job {job_id} still {self.state(job_id)} after {timeout_s:g} s")


if __name__ == "__main__":
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="lpm-slurm-"))
    cluster = SlurmCluster(root)
    t0 = time.monotonic()
    cluster.start()
    print(f"cluster up in {time.monotonic() - t0:.1f} s; export SLURM_CONF={cluster.conf}")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
