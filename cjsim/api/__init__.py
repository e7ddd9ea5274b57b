"""Routers for the CJ API 2.0 paths the simulator serves (all under /api2.0/v1)."""
