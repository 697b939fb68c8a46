"""Find USB serial adapters that drive servo arms, and explain in plain words why one cannot be opened.

Problems we diagnose (each with a fix a non-programmer can follow):
- permission denied (the user is not in the `dialout`/`uucp` group, or no udev rule),
- brltty (a braille-display daemon) grabbing CH340 adapters so that /dev/ttyUSB* never appears or vanishes,
- a port busy because another program has it open,
- a device that vanished (unplugged, loose cable, or power-hungry servos browning out the USB bus).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

# (vid, pid) -> adapter name. The first two are what SO-100/SO-101 driver boards use; FTDI/CP210x/U2D2 are
# common for Dynamixel (Koch) set-ups.
KNOWN_ADAPTERS: dict[tuple[int, int], str] = {
    (0x1A86, 0x7523): "CH340 USB serial (SO-100/SO-101 driver board)",
    (0x1A86, 0x5523): "CH341 USB serial",
    (0x1A86, 0x55D3): "CH343 USB serial (SO-101 driver board)",
    (0x1A86, 0x55D4): "CH9102 USB serial",
    (0x0403, 0x6014): "FTDI FT232H (ROBOTIS U2D2)",
    (0x0403, 0x6001): "FTDI FT232R USB serial",
    (0x0403, 0x6015): "FTDI FT231X USB serial",
    (0x10C4, 0xEA60): "Silicon Labs CP210x USB serial",
    (0x2F5D, 0x2202): "ROBOTIS OpenRB-150",
}
BRLTTY_PRONE = {(0x1A86, 0x7523), (0x1A86, 0x5523)}  # brltty's udev rules claim these ids for braille displays


@dataclass
class PortProblem:
    """Why a port cannot be used, and what to do about it."""

    code: str  # "permission", "brltty", "busy", "vanished", "not_found", "open_failed"
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.fix}"


@dataclass
class PortInfo:
    """A serial port found on this computer."""

    device: str
    description: str = ""
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    adapter: str | None = None  # the adapter's name when its VID/PID is one we know
    problems: list[PortProblem] = field(default_factory=list)

    @property
    def known_adapter(self) -> bool:
        return self.adapter is not None

    @property
    def usable(self) -> bool:
        return not self.problems

    @property
    def usb_id(self) -> str:
        return "" if self.vid is None else f"{self.vid:04x}:{self.pid or 0:04x}"


def adapter_name(vid: int | None, pid: int | None) -> str | None:
    if vid is None or pid is None:
        return None
    return KNOWN_ADAPTERS.get((vid, pid))


def list_ports(*, only_known: bool = False, diagnose: bool = True) -> list[PortInfo]:
    """Serial ports with a known adapter first; each carries its problems (empty when it looks usable)."""
    from serial.tools import list_ports as serial_list_ports

    found: list[PortInfo] = []
    for p in serial_list_ports.comports():
        info = PortInfo(
            device=p.device,
            description=p.description or "",
            vid=p.vid,
            pid=p.pid,
            serial_number=p.serial_number,
            adapter=adapter_name(p.vid, p.pid),
        )
        if only_known and not info.known_adapter:
            continue
        if diagnose and p.vid is not None:  # built-in ttyS* ports have no VID; probing them is pointless
            info.problems = diagnose_port(info.device)
        found.append(info)
    found.sort(key=lambda i: (not i.known_adapter, i.device))
    return found


def diagnose_port(device: str, *, proc_root: str = "/proc") -> list[PortProblem]:
    """Problems that would stop us from opening `device`, checked without disturbing it."""
    path = Path(device)
    if not path.exists():
        return [
            PortProblem(
                "vanished",
                f"{device} does not exist (any more).",
                "Check the USB cable and plug the adapter in again; if it disappears when the servos move, "
                "the power supply may be too weak, or brltty may be taking it (see `prop-desktop ports`).",
            )
        ]
    problems: list[PortProblem] = []
    if not os.access(device, os.R_OK | os.W_OK):
        problems.append(permission_problem(device))
    holders = processes_holding(device, proc_root=proc_root)
    if holders:
        names = ", ".join(f"{name} (pid {pid})" for pid, name in holders)
        problems.append(
            PortProblem(
                "busy",
                f"{device} is already open in another program: {names}.",
                "Close that program (another copy of this app, a serial monitor, LeRobot, or ModemManager) "
                "and try again.",
            )
        )
    return problems


def permission_problem(device: str) -> PortProblem:
    group = _device_group(device)
    user = _user_name()
    return PortProblem(
        "permission",
        f"Permission denied opening {device}: it belongs to group '{group}' and you ({user}) are not allowed.",
        f"Add yourself to that group with `sudo usermod -aG {group} {user}`, then log out and back in; "
        "or install the udev rule shipped with the app (installer/linux/70-prop-desktop.rules) into "
        "/etc/udev/rules.d/ and run `sudo udevadm control --reload && sudo udevadm trigger`.",
    )


def processes_holding(device: str, *, proc_root: str = "/proc") -> list[tuple[int, str]]:
    """Other processes with `device` open, found through /proc/<pid>/fd (we see all of them as root, ours else)."""
    try:
        target = os.path.realpath(device)
        target_stat = os.stat(target)
    except OSError:
        return []
    me = os.getpid()
    holders: list[tuple[int, str]] = []
    try:
        pids = [int(n) for n in os.listdir(proc_root) if n.isdigit()]
    except OSError:
        return []
    for pid in pids:
        if pid == me:
            continue
        fd_dir = os.path.join(proc_root, str(pid), "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if link == target or (link.startswith("/dev/") and _same_file(link, target_stat)):
                holders.append((pid, _process_name(proc_root, pid)))
                break
    return holders


def brltty_running(*, proc_root: str = "/proc") -> bool:
    try:
        pids = [n for n in os.listdir(proc_root) if n.isdigit()]
    except OSError:
        return False
    return any(_process_name(proc_root, int(pid)) == "brltty" for pid in pids)


def usb_adapters_without_port(*, sys_root: str = "/sys") -> list[tuple[int, int, str]]:
    """Known USB serial adapters that are plugged in but have no tty: (vid, pid, interface driver or '')."""
    found: list[tuple[int, int, str]] = []
    devices = Path(sys_root, "bus", "usb", "devices")
    if not devices.is_dir():
        return found
    for dev in sorted(devices.iterdir()):
        try:
            vid = int((dev / "idVendor").read_text().strip(), 16)
            pid = int((dev / "idProduct").read_text().strip(), 16)
        except (OSError, ValueError):
            continue
        if (vid, pid) not in KNOWN_ADAPTERS:
            continue
        has_tty = False
        driver = ""
        for intf in dev.glob(f"{dev.name}:*"):
            if any(intf.glob("tty*")) or any(intf.glob("ttyUSB*")) or (intf / "tty").exists():
                has_tty = True
            drv = intf / "driver"
            if drv.exists() and not driver:
                driver = os.path.basename(os.path.realpath(drv))
        if not has_tty:
            found.append((vid, pid, driver))
    return found


def system_problems(*, proc_root: str = "/proc", sys_root: str = "/sys") -> list[PortProblem]:
    """Problems not tied to one port: adapters plugged in with no port (brltty), or none plugged in at all."""
    problems: list[PortProblem] = []
    orphans = usb_adapters_without_port(sys_root=sys_root)
    brltty = brltty_running(proc_root=proc_root)
    for vid, pid, driver in orphans:
        name = KNOWN_ADAPTERS[(vid, pid)]
        if (vid, pid) in BRLTTY_PRONE and (brltty or driver in ("usbfs", "")):
            problems.append(
                PortProblem(
                    "brltty",
                    f"A {name} ({vid:04x}:{pid:04x}) is plugged in but has no serial port: brltty (the braille "
                    "display service) has most likely taken it.",
                    "If you do not use a braille display, remove it: `sudo apt remove brltty` (or "
                    "`sudo systemctl mask brltty-udev.service`), then unplug and replug the arm.",
                )
            )
        else:
            problems.append(
                PortProblem(
                    "not_found",
                    f"A {name} ({vid:04x}:{pid:04x}) is plugged in but has no serial port (driver: "
                    f"{driver or 'none'}).",
                    "Unplug and replug it; on Linux make sure the kernel module for it is loaded "
                    "(ch341, ftdi_sio, cp210x or cdc_acm).",
                )
            )
    if brltty and not orphans:
        # Not a problem yet, but the usual cause of a CH340 disappearing a second after it is plugged in.
        problems.append(
            PortProblem(
                "brltty",
                "brltty (the braille display service) is running; it grabs CH340 adapters as they are plugged in.",
                "If your arm's port disappears right after you plug it in, remove brltty: `sudo apt remove "
                "brltty`, then replug the arm.",
            )
        )
    return problems


def explain_open_error(device: str, exc: BaseException) -> PortProblem:
    """Turn an exception from opening a serial port into a plain-language problem with a fix."""
    err = getattr(exc, "errno", None)
    text = str(exc)
    if err == errno.EACCES or "Permission denied" in text:
        return permission_problem(device)
    if err in (errno.EBUSY,) or "busy" in text.lower() or "exclusive" in text.lower():
        holders = processes_holding(device)
        who = ", ".join(f"{n} (pid {p})" for p, n in holders) or "another program"
        return PortProblem("busy", f"{device} is in use by {who}.", "Close that program and try again.")
    if not os.path.exists(device):
        return diagnose_port(device)[0]
    if err in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO):
        return PortProblem(
            "vanished", f"{device} stopped answering ({text}).", "Unplug and replug the adapter, then try again."
        )
    return PortProblem("open_failed", f"Could not open {device}: {text}", "Unplug and replug the adapter.")


def _same_file(path: str, st: os.stat_result) -> bool:
    try:
        other = os.stat(path)
    except OSError:
        return False
    return other.st_rdev == st.st_rdev and other.st_ino == st.st_ino and other.st_dev == st.st_dev


def _process_name(proc_root: str, pid: int) -> str:
    try:
        return Path(proc_root, str(pid), "comm").read_text().strip()
    except OSError:
        return "?"


def _device_group(device: str) -> str:
    try:
        import grp  # POSIX only

        return grp.getgrgid(os.stat(device).st_gid).gr_name
    except (ImportError, OSError, KeyError):
        return "dialout"


def _user_name() -> str:
    try:
        import pwd  # POSIX only

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return os.environ.get("USER", "you")


@dataclass
class ArmGuess:
    """What answered on a port: protocol, the servos found {id: model number}, and the arm model they fit."""

    port: str
    protocol: str
    servos: dict[int, int]
    model_key: str | None  # "so101" / "koch" when the servos fit a known arm, else None

    @property
    def summary(self) -> str:
        what = f"a {self.model_key} arm" if self.model_key else "servos that fit no known arm"
        return f"{self.port}: {what} ({self.protocol}, ids {sorted(self.servos)})"


def identify_arm(port: str, *, baudrate: int = 1_000_000, timeout_s: float = 0.03) -> ArmGuess | None:
    """Broadcast-ping `port` with each protocol and say which arm answers (None when nothing does).

    Raises the bus layer's PortError when the port cannot be opened (with the usual plain-language fix).
    """
    from prop_desktop.arm.errors import BusError
    from prop_desktop.arm.models import ARM_MODELS, LEADER_MODELS
    from prop_desktop.arm.protocols import make_bus

    for protocol in ("feetech", "dynamixel"):
        bus = make_bus(protocol, port, baudrate, timeout_s=timeout_s, retries=1)
        bus.open()
        try:
            found = bus.broadcast_ping()
        except BusError:
            found = {}
        finally:
            bus.close()
        if not found:
            continue
        match = None
        # Followers first: an SO-101 leader has the same servos as its follower, so only a Koch leader is told apart.
        for model in (*ARM_MODELS.values(), *LEADER_MODELS.values()):
            expected = {j.servo_id: j.servo.model_number for j in model.joints}
            if model.protocol == protocol and all(found.get(i) == m for i, m in expected.items()):
                match = model.key
                break
        return ArmGuess(port, protocol, found, match)
    return None
