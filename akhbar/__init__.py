"""akhbar: Arabic news → named entities → a DuckDB warehouse."""

__version__ = "0.1.0"
