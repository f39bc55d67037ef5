"""The package's layers, bottom up, one folder each (docs/how-it-works.md;
lib/wizfi360/__init__.py): each module imports, at run time, only modules of its own
layer or below. Imports for the type checker alone (under TYPE_CHECKING) do not count:
they never run.

    1 wire/    the byte stream: ring, parser, _ipd_viper, bufcopy, _copy_viper
    2 at/      the AT command layer: engine, conn, clock, escape
    3 (top)    the APIs: wizfi360 (__init__), socket, ssl, aio and what they load
               on first use (startup, stream, server, udp, station_info, services,
               softap)
(hostuart and consts, which never run on a board, are in host/wizfi360_host.)
"""

import ast

import pytest

FOLDERS = {"wire": 1, "at": 2, "": 3}  # folder -> layer; "" is the package's own


def package_modules(repo_root):
    """Every module of the package as "folder/name" ("" folder: the package's own)."""
    pkg = repo_root / "lib" / "wizfi360"
    return sorted(p.relative_to(pkg).with_suffix("").as_posix() for p in pkg.rglob("*.py"))


def layer(module):
    folder = module.rpartition("/")[0]
    return FOLDERS[folder]


def _type_checking(test):
    return isinstance(test, ast.Name) and test.id in ("TYPE_CHECKING", "_TYPE_CHECKING")


def run_time_imports(tree, module, known):
    """The package modules ("folder/name", "__init__" for the package itself) that the
    code of `module` imports when it runs, skipping `if TYPE_CHECKING:` blocks. known:
    the package's modules, to tell `from . import name` of a module from that of a name."""
    found = set()
    folder = module.rpartition("/")[0]

    def resolve(level, dotted):
        parts = folder.split("/") if folder else []
        if level > 1:
            parts = parts[: len(parts) - (level - 1)]
        parts += dotted.split(".") if dotted else []
        return "/".join(parts)

    def visit(node):
        if isinstance(node, ast.If) and _type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level >= 1:
                base = resolve(node.level, node.module or "")
                for alias in node.names:  # a module of that name, else a name in base
                    name = (base + "/" if base else "") + alias.name
                    found.add(name if name in known else base or "__init__")
            elif node.module == "wizfi360":
                found.add("__init__")
            elif node.module and node.module.startswith("wizfi360."):
                found.add(node.module.split(".", 1)[1].replace(".", "/"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "wizfi360":
                    found.add("__init__")
                elif alias.name.startswith("wizfi360."):
                    found.add(alias.name.split(".", 1)[1].replace(".", "/"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_every_module_is_in_a_layer_folder(repo_root):
    modules = package_modules(repo_root)
    assert "wire/parser" in modules and "at/engine" in modules and "socket" in modules
    for module in modules:
        assert module.rpartition("/")[0] in FOLDERS, "%s is in no layer's folder" % module


def _modules():
    from pathlib import Path

    return package_modules(Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("module", _modules())
def test_imports_go_down_only(repo_root, module):
    known = set(package_modules(repo_root))
    tree = ast.parse((repo_root / "lib" / "wizfi360" / (module + ".py")).read_text())
    for target in run_time_imports(tree, module, known):
        assert target in known, "%s imports %s, which is no module of the package" % (module, target)
        assert layer(target) <= layer(module), "%s (layer %d) imports %s (layer %d)" % (
            module,
            layer(module),
            target,
            layer(target),
        )


def test_the_check_sees_an_upward_import():
    tree = ast.parse(
        "def f():\n    from ..socket import socket\nif TYPE_CHECKING:\n    from .engine import Op\n"
        "from .. import WizFi360\nfrom ..wire import ring\n"
    )
    known = {"socket", "__init__", "wire/ring", "at/engine"}
    found = run_time_imports(tree, "at/engine", known)
    assert found == {"socket", "__init__", "wire/ring"}
    assert [layer(m) for m in sorted(found)] == [3, 3, 1]
