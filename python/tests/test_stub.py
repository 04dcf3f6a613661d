"""The typed stub (pgqrs/__init__.pyi, pgqrs/decorators.pyi, py.typed) matches the runtime
exactly: every public name is in both, classes have the same public members, and functions
and methods the same parameters (names, kinds, defaults) and async-ness."""

from __future__ import annotations

import ast
import enum
import inspect
from pathlib import Path

import pytest

import pgqrs
import pgqrs.decorators

PKG = Path(pgqrs.__file__).resolve().parent


def _stub(module_file: str) -> dict[str, ast.AST]:
    tree = ast.parse((PKG / module_file).read_text())
    out: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = node
        elif isinstance(node, ast.ImportFrom) and node.module is None:
            for a in node.names:  # "from . import decorators as decorators"
                out[a.asname or a.name] = node
    return out


def _public_runtime(module) -> set[str]:
    return set(getattr(module, "__all__"))


STUB_HELPERS = {"TimeLike", "Handler"}  # aliases used for typing only


def _stub_members(cls: ast.ClassDef) -> dict[str, ast.AST]:
    out: dict[str, ast.AST] = {}
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.setdefault(node.name, node)  # property setter shares the name
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = node
    return {k: v for k, v in out.items() if not k.startswith("_") or k in DUNDERS}


DUNDERS = {"__init__", "__call__", "__aiter__", "__anext__", "__aenter__", "__aexit__"}
_IGNORED_BASES = (object, Exception, BaseException, TypeError, TimeoutError, OSError,
                  enum.Enum)


def _stub_class_members(stub: dict, cls: ast.ClassDef) -> dict[str, ast.AST]:
    """The class's members with those inherited from stub classes (as at runtime)."""
    members: dict[str, ast.AST] = {}
    for base in cls.bases:
        node = stub.get(ast.unparse(base))
        if isinstance(node, ast.ClassDef):
            members.update(_stub_class_members(stub, node))
    members.update(_stub_members(cls))
    return members


def _runtime_members(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass in _IGNORED_BASES or klass.__module__ in ("builtins", "enum"):
            continue
        names.update(k for k in vars(klass) if not k.startswith("_") or k in DUNDERS)
        names.update(k for k in getattr(klass, "__annotations__", {}) if not k.startswith("_"))
    if issubclass(cls, enum.Enum):
        names = {m.name for m in cls} | {n for n in names if n in DUNDERS}
    if "__dataclass_fields__" in vars(cls):
        names = set(cls.__dataclass_fields__)
    return names


def _params(fn_node: ast.AST) -> list[tuple[str, str, str | None]]:
    a = fn_node.args
    out = []
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for p, d in zip(positional, defaults):
        out.append((p.arg, "pos", None if d is None else ast.unparse(d)))
    if a.vararg:
        out.append((a.vararg.arg, "var", None))
    for p, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((p.arg, "kw", None if d is None else ast.unparse(d)))
    if a.kwarg:
        out.append((a.kwarg.arg, "varkw", None))
    return out


def _runtime_params(fn) -> list[tuple[str, str, str | None]]:
    kinds = {inspect.Parameter.POSITIONAL_ONLY: "pos", inspect.Parameter.POSITIONAL_OR_KEYWORD: "pos",
             inspect.Parameter.VAR_POSITIONAL: "var", inspect.Parameter.KEYWORD_ONLY: "kw",
             inspect.Parameter.VAR_KEYWORD: "varkw"}
    out = []
    for p in inspect.signature(fn).parameters.values():
        d = None if p.default is inspect.Parameter.empty else repr(p.default)
        out.append((p.name, kinds[p.kind], d))
    return out


def _check_function(where: str, runtime_fn, node) -> None:
    assert _params(node) == _runtime_params(runtime_fn), f"{where}: parameters differ"
    is_async = isinstance(node, ast.AsyncFunctionDef)
    assert is_async == inspect.iscoroutinefunction(runtime_fn), f"{where}: async-ness differs"


@pytest.mark.parametrize("module,stub_file", [(pgqrs, "__init__.pyi"),
                                              (pgqrs.decorators, "decorators.pyi")])
def test_stub_and_runtime_have_the_same_public_names(module, stub_file):
    stub = _stub(stub_file)
    stub_public = {n for n in stub if not n.startswith("_")} - STUB_HELPERS
    if module is pgqrs.decorators:
        stub_public = {n for n, v in stub.items() if not isinstance(v, ast.ImportFrom)}
    runtime = _public_runtime(module)
    assert runtime - stub_public == set(), "public at runtime, missing from the stub"
    assert stub_public - runtime == set(), "in the stub, missing at runtime"
    for name in runtime:
        obj = getattr(module, name)
        node = stub[name]
        if inspect.isfunction(obj):
            _check_function(name, obj, node)
        elif inspect.isclass(obj):
            assert isinstance(node, ast.ClassDef), name
            members = _stub_class_members(stub, node)
            assert set(members) == _runtime_members(obj), f"{name}: members differ"
            for m, mnode in members.items():
                if isinstance(mnode, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    attr = inspect.getattr_static(obj, m)
                    if isinstance(attr, property):
                        continue
                    fn = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
                    _check_function(f"{name}.{m}", fn, mnode)


def test_py_typed_marker_is_shipped():
    assert (PKG / "py.typed").exists()
