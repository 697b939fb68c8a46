"""The udev rule: well-formed, every supported adapter gets every clause, and real udevadm applies it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .udev_testbed import Adapter, properties, sandbox_missing_reason, udevadm_test

RULES = Path(__file__).resolve().parents[2] / "installer" / "linux" / "70-prop-desktop.rules"

# (vendor, product): the adapters the app supports (DESIGN.md; prop_desktop/arm/discovery.py).
ADAPTERS = {
    ("1a86", "7523"): "CH340",
    ("1a86", "55d3"): "CH343",
    ("0403", "6001"): "FT232R",
    ("0403", "6010"): "FT2232",
    ("0403", "6014"): "FT232H",
    ("0403", "6015"): "FT-X",
    ("10c4", "ea60"): "CP210x",
    ("1a86", "5523"): "CH341",
    ("1a86", "55d4"): "CH9102",
    ("2f5d", "2202"): "OpenRB-150",
}
FTDI_PRODUCTS = {product for vendor, product in ADAPTERS if vendor == "0403"}

# udev's keys (man udev) with the operators each allows; anything else is a typo udev would ignore.
MATCH_OPS = {"==", "!="}
KEY_OPERATORS = {
    "ACTION": MATCH_OPS,
    "SUBSYSTEM": MATCH_OPS,
    "KERNEL": MATCH_OPS,
    "DRIVER": MATCH_OPS,
    "ATTRS": MATCH_OPS,
    "ATTR": MATCH_OPS | {"="},
    "ENV": MATCH_OPS | {"=", "+="},
    "TAG": MATCH_OPS | {"+=", "-="},
    "GROUP": {"=", ":="},
    "MODE": {"=", ":="},
    "SYMLINK": MATCH_OPS | {"+=", "-=", "="},
    "GOTO": {"="},
    "LABEL": {"="},
}
CLAUSE = re.compile(r'\s*([A-Z_]+)(?:\{([^}]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(,|$)')


def parse_rules(text: str) -> list[list[tuple[str, str | None, str, str]]]:
    """Each rule line as a list of (key, attribute, operator, value); raises on anything malformed."""
    rules = []
    for number, raw in enumerate(text.replace("\\\n", " ").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        clauses, position = [], 0
        while position < len(line):
            match = CLAUSE.match(line, position)
            assert match, f"line {number}: cannot parse from {line[position:]!r}"
            key, attribute, operator, value, _ = match.groups()
            assert key in KEY_OPERATORS, f"line {number}: unknown udev key {key}"
            assert operator in KEY_OPERATORS[key], f"line {number}: {key} does not take {operator}"
            clauses.append((key, attribute, operator, value))
            position = match.end()
        rules.append(clauses)
    return rules


def test_rule_covers_every_adapter_the_app_detects() -> None:
    from prop_desktop.arm.discovery import KNOWN_ADAPTERS

    detected = {(f"{vendor:04x}", f"{product:04x}") for vendor, product in KNOWN_ADAPTERS}
    assert detected <= set(ADAPTERS), f"the app detects adapters the udev rule misses: {detected - set(ADAPTERS)}"


def test_rule_file_sorts_before_the_uaccess_handler() -> None:
    # 73-seat-late.rules turns TAG "uaccess" into an ACL; a tag added by a later file is ignored.
    assert int(RULES.name.split("-")[0]) < 73


def test_rules_parse_and_every_goto_has_its_label() -> None:
    rules = parse_rules(RULES.read_text())
    labels = {value for rule in rules for key, _, _, value in rule if key == "LABEL"}
    gotos = {value for rule in rules for key, _, _, value in rule if key == "GOTO"}
    assert gotos <= labels, f"GOTO without LABEL: {gotos - labels}"


def test_every_adapter_jumps_to_the_block_with_all_clauses() -> None:
    rules = parse_rules(RULES.read_text())
    jumps: dict[tuple[str, str], str] = {}
    for rule in rules:
        fields = {(key, attribute): value for key, attribute, _, value in rule}
        vendor, product = fields.get(("ATTRS", "idVendor")), fields.get(("ATTRS", "idProduct"))
        if vendor and ("GOTO", None) in fields and "|" not in (product or ""):
            jumps[(vendor, product)] = fields[("GOTO", None)]
    assert set(jumps) == set(ADAPTERS), f"adapters without a rule: {set(ADAPTERS) - set(jumps)}"
    target = set(jumps.values())
    assert len(target) == 1
    block = _block_after_label(rules, target.pop())
    assigned = {(key, attribute, operator, value) for rule in block for key, attribute, operator, value in rule}
    for clause in [
        ("TAG", None, "+=", "uaccess"),
        ("GROUP", None, "=", "dialout"),
        ("MODE", None, "=", "0660"),
        ("ENV", "ID_MM_DEVICE_IGNORE", "=", "1"),
        ("SYMLINK", None, "+=", "prop-arm"),
    ]:
        assert clause in assigned, f"missing {clause} for the adapters"


def test_ftdi_latency_timer_is_set_on_the_usb_serial_port_for_every_ftdi_chip() -> None:
    rules = parse_rules(RULES.read_text())
    latency = [rule for rule in rules if any(key == "ATTR" and attr == "latency_timer" for key, attr, _, _ in rule)]
    assert len(latency) == 1
    fields = {(key, attribute): (operator, value) for key, attribute, operator, value in latency[0]}
    assert fields[("SUBSYSTEM", None)] == ("==", "usb-serial")  # the attribute is not on the tty device
    assert fields[("DRIVER", None)] == ("==", "ftdi_sio")
    assert fields[("ATTR", "latency_timer")] == ("=", "1")
    assert set(fields[("ATTRS", "idProduct")][1].split("|")) == FTDI_PRODUCTS


@pytest.mark.skipif(shutil.which("udevadm") is None, reason="udevadm not installed (Debian: udev)")
@pytest.mark.timeout(60)
def test_real_udevadm_reports_no_syntax_error(tmp_path: Path) -> None:
    reason = sandbox_missing_reason()
    if reason:
        pytest.skip(reason)
    # Any real device will do: udevadm parses every rules file before it processes the event.
    output = udevadm_test(
        RULES, Adapter("1a86", "7523", "ch341"), Adapter("1a86", "7523", "ch341").tty_syspath, tmp_path
    )
    ours = [line for line in output.splitlines() if RULES.name in line and "Reading rules file" not in line]
    problems = [line for line in ours if re.search(r"invalid|unknown|error|ignoring|failed", line, re.I)]
    assert not problems, "\n".join(problems)


def _block_after_label(rules, label: str):
    start = next(i for i, rule in enumerate(rules) if ("LABEL", None, "=", label) in rule)
    block = []
    for rule in rules[start + 1 :]:
        if any(key == "LABEL" for key, _, _, _ in rule):
            break
        block.append(rule)
    return block


@pytest.fixture
def sandbox() -> None:
    reason = sandbox_missing_reason()
    if reason:
        pytest.skip(reason)


@pytest.mark.usefixtures("sandbox")
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "adapter",
    [
        Adapter("1a86", "7523", "ch341"),  # CH340: no serial number
        Adapter("1a86", "55d3", "cdc_acm", serial="5751012345"),  # CH343 on the kernel's cdc_acm: ttyACM0
        Adapter("0403", "6014", "ftdi_sio", serial="FT9XYZAB"),
        Adapter("10c4", "ea60", "cp210x", serial="0001"),
    ],
    ids=lambda adapter: f"{adapter.vendor}:{adapter.product}",
)
def test_udevadm_applies_the_rule_to_an_adapter(adapter: Adapter, tmp_path: Path) -> None:
    output = udevadm_test(RULES, adapter, adapter.tty_syspath, tmp_path)
    props = properties(output)
    assert "uaccess" in props.get("TAGS", "").split(":")
    assert props.get("ID_MM_DEVICE_IGNORE") == "1"
    assert props.get("PROP_DESKTOP_ADAPTER") == ADAPTERS[(adapter.vendor, adapter.product)]
    links = props.get("DEVLINKS", "").split()
    assert "/dev/prop-arm" in links
    if adapter.serial:
        assert f"/dev/prop-arm-{adapter.serial}" in links
    assert re.search(rf"{RULES.name}:\d+ MODE 0660", output)
    assert re.search(rf"{RULES.name}:\d+ GROUP \d+", output)
    # And the ACL really gets applied: 73-seat-late.rules runs the uaccess builtin for our tag.
    assert re.search(r"73-seat-late\.rules:\d+ RUN 'uaccess'", output)


@pytest.mark.usefixtures("sandbox")
@pytest.mark.timeout(60)
def test_udevadm_sets_ftdi_latency_timer_to_1ms(tmp_path: Path) -> None:
    adapter = Adapter("0403", "6001", "ftdi_sio", serial="A50285BI")
    output = udevadm_test(RULES, adapter, adapter.port_syspath, tmp_path)
    assert re.search(
        rf"{RULES.name}:\d+ ATTR '/sys{re.escape(adapter.port_syspath)}/latency_timer' writing '1'", output
    ), output[-2000:]


@pytest.mark.usefixtures("sandbox")
@pytest.mark.timeout(60)
def test_udevadm_leaves_other_usb_serial_devices_alone(tmp_path: Path) -> None:
    arduino = Adapter("2341", "0043", "cdc_acm", serial="85736323")
    props = properties(udevadm_test(RULES, arduino, arduino.tty_syspath, tmp_path))
    assert "PROP_DESKTOP_ADAPTER" not in props
    assert "ID_MM_DEVICE_IGNORE" not in props
    assert "/dev/prop-arm" not in props.get("DEVLINKS", "").split()


def test_sandbox_leaves_no_trace_on_the_host() -> None:
    # The namespace must have kept udevadm's symlinks and database away from the real /dev and /run.
    assert not Path("/dev/prop-arm").exists()
    assert subprocess.run(["sh", "-c", "ls /dev/prop-arm-* 2>/dev/null"], capture_output=True).stdout == b""
