"""The package's shape: layers that only point down, no import cycle, a small top level, one option schema."""
import ast
from pathlib import Path

import grimp
import pytest
from importlinter import configuration
from importlinter.application.use_cases import lint_imports

import cracklib
from cracklib.cli import build_parser
from cracklib.pipeline import ExplanationSettings, MaskSettings
from cracklib.pipeline.options import OPTIONS, default_of

PACKAGE = Path(cracklib.__file__).parent
ROOT = PACKAGE.parent


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle between modules (a package importing its own modules is not an edge back), or None."""
    state: dict[str, int] = {}

    def visit(module, path):
        state[module] = 1
        for imported in edges[module]:
            if imported.startswith(module + "."):
                continue
            if state.get(imported) == 1:
                return path[path.index(imported):] + [imported] if imported in path else [module, imported]
            if not state.get(imported):
                found = visit(imported, path + [imported])
                if found:
                    return found
        state[module] = 2
        return None

    for module in edges:
        if not state.get(module):
            found = visit(module, [module])
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"a.x"}, "a.x": {"b"}, "b": set()}) is None


def test_the_package_has_no_import_cycle():
    # grimp reads every import statement, function-level ones too: none can hide an edge.
    graph = grimp.build_graph("cracklib")
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert _cycle(edges) is None, " -> ".join(_cycle(edges))


def test_no_function_level_import_of_cracklib():
    nested = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and id(node) not in top and \
                    (node.level or (node.module or "").startswith("cracklib")):
                nested.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert nested == []


def test_the_layer_contract_holds():
    # The contracts of .importlinter: studio | cli > run | train > pipeline > explain | measure > nets | mask | io.
    configuration.configure()  # what the lint-imports command sets up first
    assert lint_imports(config_filename=str(ROOT / ".importlinter")) is True


def test_at_most_eight_modules_at_the_top_level():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top


@pytest.mark.parametrize("command", ["segment", "evaluate", "growth", "batch"])
def test_the_cli_offers_every_option_of_the_schema_with_its_default(command):
    parser = build_parser()
    sub = next(action for action in parser._actions if action.dest == "command").choices[command]
    actions = {action.dest: action for action in sub._actions}
    for entry in OPTIONS:
        action = actions[entry.name]
        assert entry.flag in action.option_strings
        if entry.name in ("threshold", "post", "refine", "mm_per_px"):
            assert action.default is None  # filled in per method (a network's own step) / no scale
        else:
            assert action.default == default_of(entry.name), entry.name
        if entry.choices is not None:
            assert set(entry.choices()) <= set(action.choices)


def test_every_option_is_a_settings_field():
    fields = set(ExplanationSettings.__dataclass_fields__) | set(MaskSettings.__dataclass_fields__)
    assert {entry.name for entry in OPTIONS} <= fields
    assert len({entry.flag for entry in OPTIONS}) == len(OPTIONS)
