"""A real OpenSSH server on 127.0.0.1 for the remote-engine tests: its own host key and config, root
login by key only, on a free port; the client side (~/.ssh/config, known_hosts, a key) in a home of its
own. `docker system dial-stdio` runs through it against this machine's engine, as on a jump host."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from pathlib import Path

from conftest import free_port, missing, wait_until

SSHD = "/usr/sbin/sshd"


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], check=True,
                   capture_output=True, timeout=30)
    return (path.with_suffix(".pub")).read_text().strip()


class Sshd:
    def __init__(self, workdir: Path) -> None:
        if not Path(SSHD).exists() or shutil.which("ssh-keygen") is None:
            missing("sshd (apt-get install openssh-server)")
        self.dir = workdir / "sshd"
        self.dir.mkdir(parents=True)
        self.port = free_port()
        host_pub = keygen(self.dir / "host_key")
        self.key = self.dir / "id_ed25519"
        self.authorized = self.dir / "authorized_keys"
        self.authorized.write_text(keygen(self.key) + "\n")
        self.stranger = self.dir / "stranger"  # a key the server does not know
        keygen(self.stranger)
        (self.dir / "sshd_config").write_text(f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.dir / 'host_key'}
PidFile {self.dir / 'sshd.pid'}
AuthorizedKeysFile {self.authorized}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
""")
        Path("/run/sshd").mkdir(exist_ok=True)  # its privilege separation directory
        self.log = open(self.dir / "sshd.log", "w")  # noqa: SIM115 - open while the server runs
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.dir / "sshd_config")],
                                     stdout=self.log, stderr=subprocess.STDOUT)

        def listening() -> bool:
            assert self.proc.poll() is None, (self.dir / "sshd.log").read_text()
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True

        wait_until(listening, 15, "sshd to listen")
        self.home = workdir / "home"
        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True, mode=0o700)
        (ssh / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {' '.join(host_pub.split()[:2])}\n")
        self.use_key(self.key)
        self.url = f"ssh://root@127.0.0.1:{self.port}"

    def use_key(self, key: Path) -> None:
        """The client's ~/.ssh/config names this key for the server (paramiko and ssh read it)."""
        (self.home / ".ssh" / "config").write_text(
            f"Host 127.0.0.1\n  IdentityFile {key}\n  IdentitiesOnly yes\n")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()
