"""Benchmarks that print tables; never run as tests and never asserted on."""
