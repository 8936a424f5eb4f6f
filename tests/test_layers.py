"""Which layer may import which (docs/architecture.md): the pipeline (vision/) imports neither
the service nor the sample generators, which import no service either; the web API (service/api/) never reaches into the command line
(service/cli/) or the samples. Read from the source, every import statement, lazy ones
inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "vision": ("service", "samples"),
    "service/api": ("service.cli", "samples"),
    "models": ("service", "samples"),
    "samples": ("service",),
}
# the feet model's training (models/feet/) renders its data with samples/render: a build tool
# like models/convert.py, never imported at run time (the runtime loads models/feet.onnx)
TRAINING = {"models/feet": ("service",)}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
    return out


def test_no_layer_imports_one_it_must_not():
    wrong = []
    for folder, banned in FORBIDDEN.items():
        files = sorted((ROOT / folder).rglob("*.py"))
        assert files, folder
        for f in files:
            rel = f.relative_to(ROOT).as_posix()
            rules = next((b for d, b in TRAINING.items() if rel.startswith(d + "/")), banned)
            for line, mod in imported_modules(f):
                if any(mod == b or mod.startswith(b + ".") for b in rules):
                    wrong.append(f"{f.relative_to(ROOT)}:{line} imports {mod}")
    assert wrong == []


def test_the_check_sees_lazy_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def g():\n    from service.cli.score import x\n    import samples.registry\n")
    assert imported_modules(f) == [(2, "service.cli.score"), (3, "samples.registry")]
