"""Benchmarks of Twinsight against other simulation tools (see README.md)."""
