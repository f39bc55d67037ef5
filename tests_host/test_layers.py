"""The package's layers, bottom up (docs/how-it-works.md): each module imports, at run
time, only modules of its own layer or below. Imports for the type checker alone (under
TYPE_CHECKING) do not count: they never run.

    0 support      clock, bufcopy, _copy_viper
    1 bytes        ring, conn, parser, _ipd_viper, escape
    2 engine       engine
    3 APIs         wizfi360 (__init__), startup, socket, stream, server, udp, ssl, aio,
                   station_info, services, softap
(hostuart and consts, which never run on a board, are in host/wizfi360_host.)
"""

import ast

import pytest

LAYERS = {
    "clock": 0,
    "bufcopy": 0,
    "_copy_viper": 0,
    "ring": 1,
    "conn": 1,
    "parser": 1,
    "_ipd_viper": 1,
    "escape": 1,
    "engine": 2,
    "__init__": 3,
    "startup": 3,
    "socket": 3,
    "stream": 3,
    "server": 3,
    "udp": 3,
    "ssl": 3,
    "aio": 3,
    "station_info": 3,
    "services": 3,
    "softap": 3,
}


def _type_checking(test):
    return isinstance(test, ast.Name) and test.id in ("TYPE_CHECKING", "_TYPE_CHECKING")


def run_time_imports(tree):
    """The package modules a module's code imports when it runs (names, '__init__' for
    the package itself), skipping `if TYPE_CHECKING:` blocks."""
    found = set()

    def visit(node):
        if isinstance(node, ast.If) and _type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif node.module == "wizfi360":
                found.add("__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "wizfi360":
                    found.add("__init__")
                elif alias.name.startswith("wizfi360."):
                    found.add(alias.name.split(".")[1])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_every_module_has_a_layer(repo_root):
    modules = {p.stem for p in (repo_root / "lib" / "wizfi360").glob("*.py")}
    assert modules == set(LAYERS)


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_imports_go_down_only(repo_root, module):
    tree = ast.parse((repo_root / "lib" / "wizfi360" / (module + ".py")).read_text())
    for target in run_time_imports(tree):
        assert target in LAYERS, "%s imports %s, which has no layer" % (module, target)
        assert LAYERS[target] <= LAYERS[module], "%s (layer %d) imports %s (layer %d)" % (
            module,
            LAYERS[module],
            target,
            LAYERS[target],
        )


def test_the_check_sees_an_upward_import():
    tree = ast.parse(
        "def f():\n    from .socket import socket\nif TYPE_CHECKING:\n    from .engine import Op\n"
    )
    assert run_time_imports(tree) == {"socket"}
