"""Benchmarks and stress runs. The scripts run as ``python bench/<name>.py``; ``fuzz`` and ``soak``
are also imported as ``bench.fuzz`` and ``bench.soak`` by ``tests/e2e/test_fuzz_soak.py``."""
