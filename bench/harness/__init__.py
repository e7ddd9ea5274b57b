"""Shared pieces of the benchmarks: child processes, the workload, the load generator."""
