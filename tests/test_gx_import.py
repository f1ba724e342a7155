"""Modules loaded on first use (core/lazy_import.py): Great Expectations is imported without scipy.stats and
altair, which its suites here never run (expectations/gx_import.py), and Stanza without networkx, which NER
never uses (flows/nlp.py); each still works when something does use it."""

import subprocess
import sys
import textwrap

from core.settings import PROJECT_ROOT
from tests.conftest import require_model


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_the_gate_builds_and_checks_every_suite_without_loading_scipy_stats_or_altair(tmp_path):
    out = _python(f"""
        import sys
        from pathlib import Path
        from expectations.gate import prepare
        prepare(Path({str(tmp_path / 'gx')!r}), Path({str(tmp_path / 'docs')!r}))
        print("great_expectations" in sys.modules, "scipy.stats._stats_py" in sys.modules,
              "altair.vegalite" in sys.modules)
    """)
    assert out.splitlines()[-1] == "True False False"
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


def test_altair_still_works_when_used():
    out = _python("""
        import sys
        import expectations.suites
        before = "altair.vegalite" in sys.modules
        import altair as alt
        chart = alt.Chart({"values": [{"x": 1}]}).mark_point().encode(x="x:Q").to_dict()
        print(before, chart["mark"]["type"], "altair.vegalite" in sys.modules)
    """)
    assert out.splitlines()[-1] == "False point True"


def test_named_entities_are_tagged_without_loading_networkx_and_it_still_works_when_used():
    require_model()
    out = _python("""
        import sys
        from core.settings import get_settings
        from flows import nlp
        settings = get_settings()
        pipeline = nlp.get_pipeline(nlp.ensure_model(settings), settings)
        (doc,) = nlp.annotate(pipeline, ["وصل الرئيس الصيني شي جين بينغ إلى أستانا في زيارة دولة إلى كازاخستان."])
        loaded = "networkx.classes" in sys.modules
        import networkx as nx
        graph = nx.MultiDiGraph()
        graph.add_edge("أستانا", "كازاخستان")
        print(len(doc.ents) > 0, loaded, graph.number_of_edges(), "networkx.classes" in sys.modules)
    """)
    assert out.splitlines()[-1] == "True False 1 True"
