"""The whole arm journey from a Python script, on the built-in simulated arm (no hardware needed).

    .venv/bin/python docs/arm_script_example.py

1. start the simulated SO-101 (a byte-exact Feetech servo bus on a real pseudo-terminal)
2. discover serial ports, connect to the simulator's port exactly as to a USB adapter, run the pre-flight
3. calibrate: middle pose, then a range sweep (the simulator's "hand" moves the joints)
4. record a hand-guided episode (torque off, joints sampled) and a point-and-click episode
5. drive a policy in closed loop (read joints -> policy -> safe write) and print the loop statistics

With a real arm, replace the simulator with `connect("/dev/ttyACM0", model="so101")` and move the arm
yourself where the script lets the simulator do it. Episodes stay in memory (the app stores them sealed).
"""

from __future__ import annotations

import math
import time

import numpy as np

from prop_desktop.arm import DriveLoop, connect, record_click, record_hand
from prop_desktop.arm.discovery import identify_arm, list_ports
from prop_desktop.arm.sim import SimulatedArm


def calibrate(arm, sim: SimulatedArm) -> None:
    cal = arm.calibrate()
    print("calibration step 1:", cal.instructions)
    for joint in sim.joint_names:  # a person puts the arm in its middle pose
        sim.move_by_hand(joint, 0.0)
    cal.record_middle()
    print("calibration step 2:", cal.instructions)
    sweep_s = 1.5  # a person moves every joint end to end
    sim.play_hand_trajectory(lambda t: {j: 1.6 * math.sin(2 * math.pi * t / sweep_s) for j in sim.joint_names},
                             sweep_s)
    end = time.monotonic() + sweep_s + 0.05
    while time.monotonic() < end:
        cal.sample()
        time.sleep(0.02)
    result = cal.finish()
    for joint in result.joints:
        lo, hi = joint.range_rad
        print(f"  {joint.name:13} {lo:+.2f} .. {hi:+.2f} rad")


def policy_step_factory():
    """The shipped base policy when its weights are installed; otherwise a simple reaching policy."""
    try:
        import torch

        from prop_desktop.policy.base import load_base_policy
        from prop_desktop.policy.tasks import task_context

        policy = load_base_policy()
        context = torch.as_tensor(task_context("serve", (0.2, 0.0), (0.15, 0.12)), dtype=torch.float32)
        obs = torch.zeros(1, 6 + context.numel())
        obs[0, 6:] = context

        def step(q: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                obs[0, :6] = torch.from_numpy(q.astype(np.float32))
                return policy.next_targets(obs)[0].numpy().astype(np.float64)

        return step, "base policy"
    except Exception as exc:  # noqa: BLE001 - weights not trained yet: keep the example runnable
        goal = np.array([0.3, -0.4, 0.6, 0.2, 0.0, 0.3])

        def step(q: np.ndarray) -> np.ndarray:
            return q + 0.1 * (goal - q)  # reach a pose, 10 % of the way per tick

        return step, f"reaching policy (base policy not available: {type(exc).__name__})"


def main() -> int:
    sim = SimulatedArm("feetech").start()  # 1. the simulator
    try:
        found = list_ports()  # 2. discovery: real USB adapters are listed with a diagnosis and a fix
        print(f"USB serial ports found: {[p.device for p in found] or 'none'}; simulated arm on {sim.port}")
        guess = identify_arm(sim.port)  # which arm answers on that port (broadcast ping, both protocols)
        if guess is None or guess.model_key is None:
            print("no known arm answers on", sim.port)
            return 1
        print("identified:", guess.summary)
        with connect(sim.port, model=guess.model_key) as arm:
            report = arm.preflight()
            print(report.summary())
            if not report.ok:
                return 1
            calibrate(arm, sim)  # 3.

            # 4a. hand-guided: torque off, a person moves the elbow and wrist
            sim.play_hand_trajectory(lambda t: {"elbow_flex": 0.6 * math.sin(3 * t), "wrist_flex": 0.3 * t}, 2.0)
            hand = record_hand(arm, seconds=1.5, rate_hz=50, task="serve", profile_id=None)
            print(hand.summary())

            # 4b. point-and-click: the UI turns clicks into joint poses (inverse kinematics); here two poses
            targets = [np.array([0.4, -0.3, 0.5, 0.2, 0.0, 0.3]), np.array([-0.2, 0.2, 0.2, -0.1, 0.3, 0.0])]
            click = record_click(arm, targets, rate_hz=50, task="serve", max_speed=1.2)
            print(click.summary())
            arrays, meta = click.to_storage()  # what storage seals: t, q, goal + meta
            print(f"  episode arrays {[(k, v.shape) for k, v in arrays.items()]}, mode={meta['mode']}")

            # 5. closed loop: read joints -> policy -> safe write (clamped, velocity limited, ramped)
            step, label = policy_step_factory()
            drive = DriveLoop(arm, step, rate_hz=50)
            stats = drive.run(seconds=1.5)
            print(f"drove the {label}: {stats.achieved_hz:.1f} Hz, p99 jitter {stats.jitter_p99_ms:.2f} ms, "
                  f"{stats.missed} missed deadlines, fault: {drive.fault}")
            return 0 if drive.fault is None and not hand.interrupted and not click.interrupted else 1
    finally:
        sim.stop()


if __name__ == "__main__":
    raise SystemExit(main())
