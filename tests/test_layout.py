"""The package layout (issue 12): light imports stay light, and no module imports itself back."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("handplay", "games", "training")
HEAVY = ("pygame", "onnxruntime", "cv2", "torch")


def _loaded_after(statement: str) -> dict[str, bool]:
    """Which heavy modules a fresh interpreter has loaded after running ``statement``."""
    code = f"{statement}\nimport sys\nprint(*[m in sys.modules for m in {HEAVY!r}])"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return dict(zip(HEAVY, (v == "True" for v in out), strict=True))


@pytest.mark.parametrize("module", ["peaks", "tracking", "smoothing", "accuracy", "atomic"])
def test_pure_modules_import_without_pygame_onnxruntime_or_opencv(module):
    loaded = _loaded_after(f"import handplay.{module}")
    assert not any(loaded.values()), loaded


def test_public_names_load_on_first_use():
    loaded = _loaded_after("import handplay")
    assert not any(loaded.values()), loaded
    code = (
        "import handplay, pygame\n"
        "assert handplay.HANDENTER != handplay.HANDMOVE != handplay.HANDLEAVE\n"
        "assert handplay.HANDENTER >= pygame.USEREVENT\n"
        "from handplay import *\n"
        "names = set(handplay.__all__)\n"
        "assert names <= set(dir(handplay)) and names <= set(globals())\n"
        "print(handplay.Detection.__module__, handplay.Smoothing.__module__)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["handplay.peaks", "handplay.smoothing"]
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        import handplay

        handplay.Nope  # noqa: B018


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules ``path`` imports when it runs (anywhere in it, functions included;
    ``if TYPE_CHECKING:`` blocks excluded, since they never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import mod" imports the module pkg.mod; "from mod import name" imports mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]  # fmt: skip
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != me:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module_name(p) for p in files}
    return {_module_name(p): _imports(p, modules) for p in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_is_read_correctly():
    graph = _graph()
    assert "handplay.peaks" in graph["handplay.tracking"]
    assert "handplay.calibrate" in graph["games.wave.app"]  # a late "from handplay import x"
    assert "handplay.calibrate" not in graph["handplay._calibrate_draw"]  # TYPE_CHECKING only
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_a_module_that_imports_it_back():
    assert _cycles(_graph()) == []


def test_evaluation_and_annotation_do_not_need_torch():
    # DESIGN.md: "evaluate measures any .onnx" without the train extra; so does the tool.
    code = (
        "import sys, training.evaluate, training.annotate, training.data, training.augment; "
        "print('torch' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"
