"""Which files of the Lambda code one handler can load: its modules and the data files they read.

Each Lambda function ships only what its handler can reach, found from the source: every
``import`` and ``from ... import`` statement of the package's own modules, wherever it stands
(a lazy import inside a function counts like one at the top), followed to a fixed point, and
every data file of the package whose name one of those modules spells out (``manifest.py``
holds ``"manifest.schema.json"``). The runtime code imports nothing by computed name
(``tests/packaging`` checks that), so the statements are the whole story.

Only imports of the handler's own top-level package (``neo_runtime``) are followed; everything
else (the standard library, boto3) is the Lambda runtime's. That holds wherever the package is
installed: in a user's venv it shares ``site-packages`` with botocore, dateutil and six, whose
imports are none of its business. An import of the package the folder cannot satisfy is reported
as missing, so a code package that lacks a module fails loudly before it is deployed or run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: Files that ship with the package for its modules to read (any other suffix is code or ignored).
DATA_SUFFIXES = (".json",)


@dataclass(frozen=True)
class Closure:
    """What one module can load: files relative to the code root, and the imports the root cannot satisfy."""

    files: tuple[str, ...]
    missing: tuple[str, ...]


def closure(root: Path, module: str) -> Closure:
    """The files ``module`` (e.g. ``neo_runtime.handlers.check_job``) loads from the code folder ``root``."""
    return _closure(root.resolve(), module)


@lru_cache(maxsize=64)
def _closure(root: Path, module: str) -> Closure:
    package = module.split(".", maxsplit=1)[0]
    own = frozenset({package})
    seen: set[str] = set()
    missing: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen or name in missing:
            continue
        path = _module_file(root, name)
        if path is None:
            missing.add(name)
            continue
        seen.add(name)
        parents = name.split(".")[:-1]
        pending.extend(".".join(parents[:depth]) for depth in range(1, len(parents) + 1))
        pending.extend(imported for imported in _imports(root, path, name) if imported.split(".")[0] in own)
    modules = {_module_file(root, name) for name in seen}
    files = {path.relative_to(root).as_posix() for path in modules if path is not None}
    for data in _data_files(root / package):
        quoted = (f'"{data.name}"', f"'{data.name}'")
        if any(name in _source(path) for path in modules if path is not None for name in quoted):
            files.add(data.relative_to(root).as_posix())
    return Closure(tuple(sorted(files)), tuple(sorted(missing)))


@lru_cache(maxsize=1024)
def _module_file(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=64)
def _data_files(package_dir: Path) -> tuple[Path, ...]:
    """The package's own data files (never another package's in a shared ``site-packages``)."""
    if not package_dir.is_dir():
        return ()
    return tuple(sorted(path for path in package_dir.rglob("*") if path.suffix in DATA_SUFFIXES and path.is_file()))


@lru_cache(maxsize=256)
def _imports(root: Path, path: Path, name: str) -> frozenset[str]:
    """Absolute names of the modules ``path`` imports anywhere; ``from p import x`` may name module ``p.x``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for module, level, imported in _facts(path).imports:
        if level < 0:  # import a, b.c
            names.update(imported)
            continue
        base = _absolute(package, module, level)
        names.add(base)
        names.update(f"{base}.{alias}" for alias in imported if not _binds(root, base, alias))
    return frozenset(names)


def _binds(root: Path, package: str, name: str) -> bool:
    """Whether ``from package import name`` takes an attribute of the package, not a submodule of it."""
    init = _module_file(root, package)
    if init is None or _module_file(root, f"{package}.{name}") is not None:
        return False
    if init.name != "__init__.py":  # a plain module has attributes only
        return True
    return name in _facts(init).bindings


@dataclass(frozen=True)
class _ModuleFacts:
    """What the closure needs of one module's source: its import statements, as ``(module, level, names)`` (level -1
    for ``import a, b.c``), and the names its top level binds. Kept instead of the parse tree: a synth that kept 42
    trees alive spent half the closure's time in one full garbage collection over them."""

    imports: tuple[tuple[str | None, int, tuple[str, ...]], ...]
    bindings: frozenset[str]


@lru_cache(maxsize=256)
def _facts(path: Path) -> _ModuleFacts:
    body = ast.parse(_source(path), filename=str(path)).body
    imports = tuple((None, -1, tuple(alias.name for alias in node.names)) if isinstance(node, ast.Import)
                    else (node.module, node.level, tuple(alias.name for alias in node.names))
                    for node in _import_statements(body))
    bindings: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bindings.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bindings.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        else:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) else []
            bindings.update(target.id for target in targets if isinstance(target, ast.Name))
    return _ModuleFacts(imports, frozenset(bindings))


def _absolute(package: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")[:len(package.split(".")) - (level - 1)]
    return ".".join(parts + ([module] if module else []))


def _import_statements(statements: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The import statements among ``statements`` and every block nested in them (function bodies too), except
    those under ``if TYPE_CHECKING:``, which never run (every module of the package postpones its annotations)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for statement in statements:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            found.append(statement)
            continue
        if isinstance(statement, ast.If) and _is_type_checking(statement.test):
            found.extend(_import_statements(statement.orelse))
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for block in getattr(statement, field, None) or []:
                found.extend(_import_statements(block.body if isinstance(block, (ast.excepthandler, ast.match_case))
                                                else [block]))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


@lru_cache(maxsize=256)
def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")

