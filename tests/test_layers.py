"""Imports run one way: down the layers below, never up, never in a circle, and never from
inside a function (except the CLI's lazy subcommands). docs/architecture.md explains the order.

A module belongs to the first layer one of whose prefixes names it. It may import modules of
its own layer (no circles) and of any layer below; importing from a layer above is a
violation, and so is an import inside a function or class body.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LAYERS: tuple[tuple[str, ...], ...] = (
    ("bot.cli",),  # the `followup` command: the composition root for each subcommand
    ("bot.demo",),  # the demo runs the whole bot against the sandbox
    ("bot.runtime",),  # start-up wires handlers into the Bolt app and the HTTP server
    ("handlers",),  # Slack payloads and webhook bodies in, typed values to bot/ out
    ("bot.loop",),  # outcomes, escalation, snooze, the agent's queue
    ("bot.digest",),
    ("bot.dispatch",),
    ("bot.people",),
    ("bot.intake",),
    ("bot.nudge",),
    ("bot.planning",),
    ("bot.writeback",),  # helpdesk notes and reopens: the outbox and each vendor's REST calls
    # The kernel: what every capability takes (Deps, settings, the /followup call and reply).
    ("bot.commands", "bot.deps", "bot.logs", "bot.config", "bot.report", "bot.group_commit"),
    # Pure foundations the kernel's Deps carries: no database, no capability above.
    ("bot.render",),
    ("bot.rules",),
    ("bot.slack",),
    ("db",),
    # Plain values even db/ stores.
    ("bot.cases", "bot.clock", "bot.ids", "bot.metrics", "bot"),
    # Slack's and the helpdesks' stand-ins know nothing of the bot.
    ("bot.sandbox",),
)
PACKAGES = ("bot", "handlers", "db")
LAZY_IMPORTS_ALLOWED = {"bot.cli"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(root: Path) -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path, root)] = path
    return found


def layer_of(module: str) -> int:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise LookupError(f"{module} is in no layer: add it to LAYERS (and docs/architecture.md)")


def _imports(module: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every project import in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level: set[int] = set()
    for node in tree.body:  # module level, including `if TYPE_CHECKING:` and try blocks
        if isinstance(node, ast.If | ast.Try):
            top_level.update(id(n) for n in ast.walk(node))
        top_level.add(id(node))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import sub` imports the module pkg.sub when there is one.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in dict.fromkeys(targets):
            if target.split(".")[0] in PACKAGES:
                found.append((target, node.lineno, id(node) in top_level))
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def violations(root: Path) -> list[str]:
    """Every upward import, circle and import inside a function under `root`."""
    modules = sources(root)
    known = set(modules)
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        where = path.relative_to(root)
        for target, line, at_top in _imports(module, path, known):
            if target not in known:
                problems.append(f"{where}:{line}: imports {target}, which does not exist")
                continue
            if target == module:
                continue
            graph.setdefault(module, set()).add(target)
            if not at_top and module not in LAZY_IMPORTS_ALLOWED:
                problems.append(f"{where}:{line}: imports {target} inside a function")
            if layer_of(target) < layer_of(module):
                problems.append(f"{where}:{line}: {module} imports {target}, a layer above it")
    problems += [f"import circle: {' -> '.join(group)}" for group in _cycles(graph)]
    return problems


def test_imports_run_one_way_with_no_circles_and_none_inside_functions() -> None:
    assert violations(ROOT) == []


def test_every_module_is_in_a_layer() -> None:
    for module in sources(ROOT):
        layer_of(module)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for package in PACKAGES:
        (root / package).mkdir(exist_ok=True)
        (root / package / "__init__.py").touch()
    return root


def test_the_check_reports_an_upward_import_a_circle_and_a_lazy_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "bot/loop/__init__.py": "",
            "bot/loop/outcomes.py": "from bot.loop import escalation\n",
            "bot/loop/escalation.py": "from bot.loop.outcomes import x\n",
            "bot/cases.py": "",
            "db/models.py": "from bot.loop import outcomes\n",
            "bot/deps.py": "def build():\n    from db import models\n",
            "bot/cli.py": "def main():\n    from bot.loop import outcomes\n",
        },
    )
    assert violations(root) == [
        "bot/deps.py:2: imports db.models inside a function",
        "db/models.py:1: db.models imports bot.loop.outcomes, a layer above it",
        "import circle: bot.loop.escalation -> bot.loop.outcomes",
    ]


def test_the_check_accepts_imports_down_the_layers(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "handlers/views.py": "from bot.loop import outcomes\n",
            "bot/loop/__init__.py": "",
            "bot/loop/outcomes.py": "from bot.deps import Deps\nfrom db import models\n",
            "bot/deps.py": "from bot.rules import policy\n",
            "bot/rules/__init__.py": "",
            "bot/rules/policy.py": "from bot.cases import ClosedCase\n",
            "db/models.py": "from bot.cases import ClosedCase\n",
            "bot/cases.py": "",
        },
    )
    assert violations(root) == []
