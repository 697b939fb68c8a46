"""Run the real `udevadm test` against our rule on a mocked USB serial adapter, touching nothing on the host.

umockdev fakes /sys (a USB device, its interface, the usb-serial port and the tty), and a private mount
namespace gives udevadm an empty /etc/udev/rules.d (plus our rule), /run and /dev, because udevadm 252's
`test` really creates the /dev symlinks and the udev database entry it computes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

USB_DEVICE = "/devices/pci0000:00/0000:00:14.0/usb1/1-2"
INTERFACE = USB_DEVICE + "/1-2:1.0"

# Runs inside `unshare --mount`: every mount below vanishes with the namespace.
SANDBOX_SCRIPT = r"""
set -e
rules=$1 device=$2 syspath=$3
work=$(mktemp -d)
mkdir -p "$work/realdev"
mount --rbind /dev "$work/realdev"
mount -t tmpfs tmpfs /dev
for n in null zero random urandom full tty; do touch "/dev/$n"; mount --bind "$work/realdev/$n" "/dev/$n"; done
mkdir /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs tmpfs /run
mkdir -p /etc/udev/rules.d
mount -t tmpfs tmpfs /etc/udev/rules.d
cp "$rules" /etc/udev/rules.d/
umockdev-run -d "$device" -- udevadm test --action=add "$syspath" 2>&1
"""


@dataclass(frozen=True)
class Adapter:
    vendor: str
    product: str
    driver: str  # kernel driver of the interface: ch341, cdc_acm, ftdi_sio, cp210x
    serial: str | None = None

    @property
    def tty_name(self) -> str:
        return "ttyACM0" if self.driver == "cdc_acm" else "ttyUSB0"

    @property
    def tty_syspath(self) -> str:
        if self.driver == "cdc_acm":  # cdc_acm has no usb-serial port device between interface and tty
            return f"{INTERFACE}/tty/{self.tty_name}"
        return f"{INTERFACE}/{self.tty_name}/tty/{self.tty_name}"

    @property
    def port_syspath(self) -> str:
        return f"{INTERFACE}/{self.tty_name}"


def sandbox_missing_reason() -> str | None:
    """Why the sandboxed udevadm run is impossible here, or None when it can run."""
    for tool in ("udevadm", "umockdev-run", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: udev, umockdev, util-linux)"
    if os.geteuid() != 0:
        return "needs root for a private mount namespace (unshare --mount)"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare --mount is not permitted here: {probe.stderr.strip()}"
    return None


def umockdev_description(adapter: Adapter) -> str:
    """An umockdev-record text describing the adapter's sysfs devices, from the USB device down to the tty."""
    depth_to_bus = INTERFACE.count("/")  # ../ steps from the interface to / (sysfs root)
    lines = [
        f"P: {USB_DEVICE}",
        "N: bus/usb/001/005",
        "E: DEVNAME=/dev/bus/usb/001/005",
        "E: DEVTYPE=usb_device",
        "E: DRIVER=usb",
        f"E: PRODUCT={adapter.vendor.lstrip('0')}/{adapter.product.lstrip('0')}/100",
        "E: MAJOR=189",
        "E: MINOR=4",
        "E: SUBSYSTEM=usb",
        f"A: idVendor={adapter.vendor}",
        f"A: idProduct={adapter.product}",
        "A: manufacturer=Test Adapter",
        "A: product=USB Serial",
        "A: bcdDevice=0100",
        "A: busnum=1",
        "A: devnum=5",
    ]
    if adapter.serial:
        lines.append(f"A: serial={adapter.serial}")
    lines += [
        "",
        f"P: {INTERFACE}",
        "E: DEVTYPE=usb_interface",
        f"E: DRIVER={adapter.driver}",
        "E: SUBSYSTEM=usb",
        "A: bInterfaceNumber=00",
        "A: bInterfaceClass=ff",
        "",
    ]
    if adapter.driver != "cdc_acm":
        lines += [
            f"P: {adapter.port_syspath}",
            f"E: DRIVER={adapter.driver}",
            "E: SUBSYSTEM=usb-serial",
            "L: driver=" + "../" * (depth_to_bus + 1) + f"bus/usb-serial/drivers/{adapter.driver}",
            "A: port_number=0",
        ]
        if adapter.driver == "ftdi_sio":
            lines.append("A: latency_timer=16")
        lines.append("")
    lines += [
        f"P: {adapter.tty_syspath}",
        f"N: {adapter.tty_name}",
        f"E: DEVNAME=/dev/{adapter.tty_name}",
        "E: MAJOR=188" if adapter.driver != "cdc_acm" else "E: MAJOR=166",
        "E: MINOR=0",
        "E: SUBSYSTEM=tty",
        "",
    ]
    return "\n".join(lines)


def udevadm_test(rules_file: Path, adapter: Adapter, syspath: str, workdir: Path) -> str:
    """`udevadm test --action=add` output for one mocked device, with only our rule added to the system's."""
    description = workdir / "device.umockdev"
    description.write_text(umockdev_description(adapter))
    script = workdir / "sandbox.sh"
    script.write_text(SANDBOX_SCRIPT)
    result = subprocess.run(
        ["unshare", "--mount", "sh", str(script), str(rules_file), str(description), "/sys" + syspath],
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise AssertionError(f"udevadm test failed (exit {result.returncode}):\n{output[-3000:]}")
    return output


def properties(output: str) -> dict[str, str]:
    """The KEY=value block udevadm test prints at the end: the device's final udev properties."""
    props: dict[str, str] = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep and key and key.replace("_", "").replace(".", "").isalnum() and key.upper() == key:
            props[key] = value
    return props
