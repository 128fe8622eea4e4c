"""The house a newcomer reads in an afternoon (issue 34): no import circle between the package's
modules, and no file in it too long to read in one sitting.

The import graph is grimp's (what import-linter builds on): every `import` in a module counts,
at its top, inside a function or under `if TYPE_CHECKING:`, since each of them ties the two
files together for a reader as much as for Python.
"""
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "sketchstudio"
MAX_LINES = 500


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def import_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Each circle once, as the modules along it from its smallest name: a direct import a -> b
    closes one whenever b leads back to a."""
    cycles = set()
    for a in graph.modules:
        for b in graph.find_modules_directly_imported_by(a):
            back = graph.find_shortest_chain(importer=b, imported=a)
            if back is not None:
                ring = (a, *back[:-1])  # a -> b -> ... -> (a)
                k = ring.index(min(ring))
                cycles.add(ring[k:] + ring[:k])
    return sorted(cycles)


def test_no_module_imports_itself_round_a_circle(graph):
    cycles = import_cycles(graph)
    assert cycles == [], "import circles:\n" + "\n".join(" -> ".join((*c, c[0])) for c in cycles)


def test_the_cycle_finder_sees_a_circle():
    """The test above can fail: a circle added to a copy of the graph is found."""
    g = grimp.build_graph(PACKAGE, cache_dir=None)
    a, b = "sketchstudio.app.studio.main_window", "sketchstudio.app.studio.export_actions"
    assert g.direct_import_exists(importer=a, imported=b)
    g.add_import(importer=b, imported=a)  # the circle the window had before issue 34
    cycles = import_cycles(g)
    assert (b, a) in cycles and all(a in c and b in c for c in cycles)


def test_no_file_in_the_package_is_over_500_lines():
    lengths = {p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
               for p in sorted((ROOT / PACKAGE).rglob("*.py"))}
    assert len(lengths) > 50  # the package was found
    long = {p: n for p, n in lengths.items() if n > MAX_LINES}
    assert long == {}, f"files over {MAX_LINES} lines: {long}"
