"""Interoperability with other robot-learning tools: LeRobot datasets (v3.0) and LeRobot calibration files."""
