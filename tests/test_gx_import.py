"""Great Expectations is imported without scipy.stats, which its suites here never run (expectations/gx_import.py)."""

import subprocess
import sys
import textwrap

from core.settings import PROJECT_ROOT


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_the_gate_builds_and_checks_every_suite_without_loading_scipy_stats(tmp_path):
    out = _python(f"""
        import sys
        from pathlib import Path
        from expectations.gate import prepare
        prepare(Path({str(tmp_path / 'gx')!r}), Path({str(tmp_path / 'docs')!r}))
        print("great_expectations" in sys.modules, "scipy.stats._stats_py" in sys.modules)
    """)
    assert out.splitlines()[-1] == "True False"
    assert (tmp_path / "docs" / "index.html").is_file()


def test_scipy_stats_still_works_when_used():
    out = _python("""
        import math, sys
        import expectations.suites
        before = "scipy.stats._stats_py" in sys.modules
        from scipy import stats
        print(before, math.isclose(stats.entropy([1, 1]), math.log(2)), "scipy.stats._stats_py" in sys.modules)
    """)
    assert out.splitlines()[-1] == "False True True"
