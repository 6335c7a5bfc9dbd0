"""Benchmark scripts (run them as `python bench/NAME.py`); a package only so that type
checkers tell bench/routing.py from the routing package."""
