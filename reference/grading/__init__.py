"""Grading other people's implementations: formats and loading, the sandbox and its wire format, the worker side,
course profiles and grids, scoring, reports and the CLI (``python -m reference.grade``).

The oracle side (``reference`` outside this package) never imports it.
"""
