"""The kernel every layer may import: typed settings, fault injection, the stopwatch, Prefect defaults.

Nothing here imports another package of the project, so imports only look down:
core ← transforms ← warehouse, expectations ← flows ← akhbar (CLI, report), bench.
"""
