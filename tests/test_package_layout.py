"""The package's folders show its design (README, "Where things live"): each folder
says in its opening docstring what it holds, none holds more than 12 modules, and no
module but the kernels runs past 500 lines."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aetui"
MAX_MODULES = 12
MAX_LINES = 500
LONG_BY_DESIGN = {"aetui/engine/kernels.py"}  # the jitted kernels, one file for numba


def folders() -> list[Path]:
    return sorted({p.parent for p in PACKAGE.rglob("*.py")} - {PACKAGE})


def test_every_folder_says_what_it_holds():
    missing = [str(f.relative_to(PACKAGE.parent)) for f in folders()
               if not ast.get_docstring(ast.parse((f / "__init__.py").read_text()))]
    assert missing == []


def test_no_folder_holds_more_than_twelve_modules():
    crowded = {str(f.relative_to(PACKAGE.parent)): n for f in folders()
               if (n := len([p for p in f.glob("*.py") if p.name != "__init__.py"]))
               > MAX_MODULES}
    assert crowded == {}


def test_no_module_but_the_kernels_is_over_500_lines():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert set(long) == LONG_BY_DESIGN
