"""The layering of ARCHITECTURE.md, checked on the imports of every module (top-level and inside functions).

Bottom: mrcnn, the part vocabulary, the registry, the atomic writer, the image loader. Above it the
UnMask library; beside the library the data converters; on top the presets, plan, pipeline,
evaluation, report and command line. A module may import its own layer and the layers below it.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mrcnn", "unmask", "dataset_tools")
BOTTOM = {"unmask.parts", "unmask.registry", "unmask.fileio", "unmask.images"}
TOP_PREFIXES = ("unmask.presets", "unmask.plan", "unmask.pipeline", "unmask.evaluation", "unmask.report", "unmask.cli")
ALLOWED = {
    "bottom": {"bottom"},
    "library": {"bottom", "library"},
    "converters": {"bottom", "converters"},
    "top": {"bottom", "library", "converters", "top"},
}


def layer(module: str) -> str:
    if module.startswith("mrcnn") or module in BOTTOM:
        return "bottom"
    if module.startswith("dataset_tools"):
        return "converters"
    if module.startswith(TOP_PREFIXES):
        return "top"
    return "library"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path) -> set[str]:
    """Every project module `path` imports, at any depth of its code (the package `unmask` itself,
    whose public names are lazy, is not counted)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            module = _existing_module(name)
            if module and module != "unmask":
                found.add(module)
    return found


def _existing_module(name: str) -> str | None:
    if name.split(".")[0] not in PACKAGES:
        return None
    relative = Path(*name.split("."))
    if (ROOT / relative.with_suffix(".py")).is_file() or (ROOT / relative / "__init__.py").is_file():
        return name
    return None


MODULES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_from_a_layer_above_its_own(path):
    mine = layer(module_name(path))
    upward = {m: layer(m) for m in project_imports(path) if layer(m) not in ALLOWED[mine]}
    assert not upward, f"{module_name(path)} ({mine}) imports {upward}"


def test_the_layers_cover_every_module_named_in_architecture_md():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    for path in MODULES:
        name = module_name(path)
        if name.count(".") <= 1 and not name.endswith("__main__"):
            assert f"`{name.split('.')[-1] if '.' in name else name}" in text or f"`{name}" in text, \
                f"{name} is not placed in ARCHITECTURE.md"
