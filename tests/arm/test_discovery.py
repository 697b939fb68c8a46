"""Port discovery and diagnosis on real ptys and real processes; fake sysfs/proc trees for brltty."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prop_desktop.arm import discovery
from prop_desktop.arm.discovery import (
    KNOWN_ADAPTERS,
    adapter_name,
    diagnose_port,
    explain_open_error,
    processes_holding,
    system_problems,
)


def test_known_adapters_are_named():
    assert "CH340" in adapter_name(0x1A86, 0x7523)
    assert "CH343" in adapter_name(0x1A86, 0x55D3)
    assert "FT232H" in adapter_name(0x0403, 0x6014)
    assert "CP210x" in adapter_name(0x10C4, 0xEA60)
    assert adapter_name(0x1234, 0x5678) is None and adapter_name(None, None) is None
    assert (0x0403, 0x6001) in KNOWN_ADAPTERS


def test_list_ports_runs_and_sorts_known_adapters_first():
    ports = discovery.list_ports()
    known = [p.known_adapter for p in ports]
    assert known == sorted(known, reverse=True)


def test_a_vanished_device_is_explained():
    problems = diagnose_port("/dev/ttyUSB-not-there")
    assert [p.code for p in problems] == ["vanished"]
    assert "plug" in problems[0].fix.lower()


@pytest.mark.timeout(30)
def test_a_port_held_by_another_process_is_busy_and_names_it():
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys,time; f=open({path!r},'rb'); print('open', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"open"
        holders = processes_holding(path)
        assert any(pid == holder.pid for pid, _ in holders)
        problems = diagnose_port(path)
        assert [p.code for p in problems] == ["busy"]
        assert f"pid {holder.pid}" in problems[0].message and "Close" in problems[0].fix
    finally:
        holder.kill()
        holder.wait()
        os.close(master)
    assert diagnose_port(path) == [] or not os.path.exists(path)


@pytest.mark.timeout(30)
def test_permission_denied_is_explained_for_a_user_outside_the_group(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to run the check as another user")
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    os.chmod(path, 0o600)
    try:
        # Run the diagnosis as 'nobody', who may not open a root-owned 0600 device: the real EACCES path.
        root = str(Path(__file__).resolve().parents[2])
        code = (
            "import importlib.util as u, sys\n"  # load discovery.py alone: 'nobody' has no numpy/pyserial
            f"spec = u.spec_from_file_location('discovery', {root + '/prop_desktop/arm/discovery.py'!r})\n"
            "m = sys.modules['discovery'] = u.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "diagnose_port, explain_open_error = m.diagnose_port, m.explain_open_error\n"
            f"print(diagnose_port({path!r})[0].code)\n"
            f"try:\n    open({path!r}, 'r+b')\nexcept OSError as exc:\n"
            f"    p = explain_open_error({path!r}, exc)\n    print(p.code)\n    print(p.fix)\n"
        )
        python = shutil.which("python3", path="/usr/bin:/bin")  # the venv's interpreter lives under /root
        if python is None:
            pytest.skip("no system python3 that another user may run")
        out = subprocess.run(
            [python, "-I", "-c", code], user="nobody", capture_output=True, text=True, timeout=20, cwd="/"
        )
        lines = out.stdout.splitlines()
        assert lines[:2] == ["permission", "permission"], out.stderr
        assert "usermod -aG" in lines[2] and "udev" in lines[2]
    finally:
        os.close(slave)
        os.close(master)


def _fake_usb(sys_root: Path, name: str, vid: str, pid: str, *, tty: bool, driver: str | None) -> None:
    dev = sys_root / "bus" / "usb" / "devices" / name
    intf = dev / f"{name}:1.0"
    intf.mkdir(parents=True)
    (dev / "idVendor").write_text(vid + "\n")
    (dev / "idProduct").write_text(pid + "\n")
    if tty:
        (intf / "ttyUSB0").mkdir()
    if driver:
        drv_dir = sys_root / "bus" / "usb" / "drivers" / driver
        drv_dir.mkdir(parents=True, exist_ok=True)
        (intf / "driver").symlink_to(drv_dir)


def _fake_proc(proc_root: Path, procs: dict[int, str]) -> None:
    for pid, comm in procs.items():
        (proc_root / str(pid)).mkdir(parents=True)
        (proc_root / str(pid) / "comm").write_text(comm + "\n")


def test_brltty_holding_a_ch340_is_detected_with_the_fix(tmp_path):
    sys_root, proc_root = tmp_path / "sys", tmp_path / "proc"
    _fake_usb(sys_root, "1-2", "1a86", "7523", tty=False, driver="usbfs")
    _fake_usb(sys_root, "1-3", "1a86", "55d3", tty=True, driver="cdc_acm")  # a healthy CH343: no problem
    _fake_proc(proc_root, {1: "systemd", 812: "brltty"})
    problems = system_problems(proc_root=str(proc_root), sys_root=str(sys_root))
    assert [p.code for p in problems] == ["brltty"]
    assert "CH340" in problems[0].message and "apt remove brltty" in problems[0].fix


def test_adapter_without_port_and_no_brltty_suggests_driver(tmp_path):
    sys_root, proc_root = tmp_path / "sys", tmp_path / "proc"
    _fake_usb(sys_root, "1-4", "0403", "6014", tty=False, driver=None)
    _fake_proc(proc_root, {1: "systemd"})
    problems = system_problems(proc_root=str(proc_root), sys_root=str(sys_root))
    assert [p.code for p in problems] == ["not_found"]
    assert "ftdi_sio" in problems[0].fix


def test_brltty_running_is_a_warning_even_before_the_adapter_vanishes(tmp_path):
    sys_root, proc_root = tmp_path / "sys", tmp_path / "proc"
    (sys_root / "bus" / "usb" / "devices").mkdir(parents=True)
    _fake_proc(proc_root, {77: "brltty"})
    problems = system_problems(proc_root=str(proc_root), sys_root=str(sys_root))
    assert [p.code for p in problems] == ["brltty"]


def test_open_errors_become_plain_problems(tmp_path):
    assert explain_open_error("/dev/ttyNOPE", FileNotFoundError(2, "No such file")).code == "vanished"
    assert explain_open_error(str(tmp_path), PermissionError(13, "Permission denied")).code == "permission"
    busy = explain_open_error(str(tmp_path), OSError(16, "Device or resource busy"))
    assert busy.code == "busy" and "Close" in busy.fix


@pytest.mark.timeout(30)
@pytest.mark.parametrize("protocol, model", [("feetech", "so101"), ("dynamixel", "koch")])
def test_identify_arm_on_a_port(make_sim, protocol, model):
    sim = make_sim(protocol)
    guess = discovery.identify_arm(sim.port)
    assert guess is not None and guess.protocol == protocol and guess.model_key == model
    assert sorted(guess.servos) == [1, 2, 3, 4, 5, 6] and model in guess.summary


@pytest.mark.timeout(30)
def test_identify_arm_when_nothing_answers(make_sim):
    sim = make_sim("feetech")
    for joint in sim.joint_names:
        sim.set_silent(joint)
    assert discovery.identify_arm(sim.port) is None
