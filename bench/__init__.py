"""Benchmarks and soak runs: `make bench`, `make soak`. Scripts that print figures."""
