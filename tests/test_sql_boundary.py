"""SQL lives in db/: bot/ and handlers/ import from SQLAlchemy only the types they are handed
(a Session, an Engine), never a query builder, an error class or anything else."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {("sqlalchemy.orm", "Session"), ("sqlalchemy", "Engine")}
"""The only (module, name) imports of SQLAlchemy allowed outside db/, with no alias."""
SKIPPED = (ROOT / "bot" / "sandbox",)
"""The fake Slack: not the bot, and it holds no SQL."""


def _is_sqlalchemy(module: str) -> bool:
    return module == "sqlalchemy" or module.startswith("sqlalchemy.")


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def sql_offenders(files: Iterable[Path]) -> list[str]:
    """`file:line: the import` for each SQLAlchemy import in `files` beyond ALLOWED (anywhere in
    the module: top level, under TYPE_CHECKING or inside a function)."""
    found = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        nodes = sorted(
            (n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)),
            key=lambda n: n.lineno,
        )
        for node in nodes:
            if isinstance(node, ast.Import):
                bad = [alias for alias in node.names if _is_sqlalchemy(alias.name)]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if not _is_sqlalchemy(node.module):
                    continue
                module = node.module
                bad = [
                    alias
                    for alias in node.names
                    if (module, alias.name) not in ALLOWED or alias.asname is not None
                ]
            else:
                continue
            if bad:
                found.append(f"{_shown(path)}:{node.lineno}: {ast.unparse(node)}")
    return found


def _tree_files() -> list[Path]:
    files = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]
    return sorted(f for f in files if not any(f.is_relative_to(s) for s in SKIPPED))


def test_bot_and_handlers_import_no_sql() -> None:
    files = _tree_files()
    assert any(f.name == "items.py" for f in files)  # the walk found the tree
    offenders = sql_offenders(files)
    assert not offenders, "SQL belongs in a db/ function; found under bot/ or handlers/:\n" + (
        "\n".join(offenders)
    )


def test_the_check_reports_a_violation(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from sqlalchemy.orm import Session\n"
        "from sqlalchemy import select\n"
        "if TYPE_CHECKING:\n"
        "    from sqlalchemy import Engine\n"
        "    from sqlalchemy.orm import Session, aliased\n"
        "import sqlalchemy.exc\n"
        "from sqlalchemy.orm import Session as S\n"
        "from sqlalchemy_utils import nothing\n"
        "def f():\n"
        "    from sqlalchemy import text\n",
        encoding="utf-8",
    )
    assert sql_offenders([source]) == [
        f"{source}:4: from sqlalchemy import select",
        f"{source}:7: from sqlalchemy.orm import Session, aliased",
        f"{source}:8: import sqlalchemy.exc",
        f"{source}:9: from sqlalchemy.orm import Session as S",
        f"{source}:12: from sqlalchemy import text",
    ]


def test_the_check_passes_the_allowed_types(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text(
        "from sqlalchemy import Engine\nfrom sqlalchemy.orm import Session\n", encoding="utf-8"
    )
    assert sql_offenders([source]) == []
