"""Data Docs views that compile their Jinja templates once per process.

Great Expectations makes a new view, and with it a new Jinja environment, for every section of every Data
Docs build, and Jinja compiles a template once per environment: some thirty templates, about half of the
0.2 s that the pages of one gate took to write. These views, plugged in through the site's documented
``view`` settings (``expectations/gate.py``), share the environment of the first view of their class and
style folders in the process. What they render is unchanged (``tests/test_gate_rules.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView


class _SharedEnvironment:
    _first: ClassVar[dict[tuple, Any]] = {}

    def __init__(self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None):
        key = (type(self), custom_styles_directory, custom_views_directory)
        first = self._first.get(key)
        if first is None:
            super().__init__(custom_styles_directory, custom_views_directory)
            self._first[key] = self
        else:  # the first view's environment, whose filters are that view's methods: views hold no other state
            self.__dict__.update(first.__dict__)


class PageView(_SharedEnvironment, DefaultJinjaPageView):
    """The pages of suites and validation results."""


class IndexPageView(_SharedEnvironment, DefaultJinjaIndexPageView):
    """The site's index page."""
