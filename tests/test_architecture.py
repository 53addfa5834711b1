"""The house reads in one direction: each layer imports only the layers below it.

The import graph counts every `import` of a laetitia module, those inside functions included (a
lazy import that dodges a cycle is still a cycle), and importing `a.b.c` as importing the
packages `a.b` too (their `__init__` runs); `if TYPE_CHECKING:` blocks are left out. The layers
are those of docs/architecture.md.
"""

import ast
import fnmatch
import graphlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"laetitia": "laetitia", "emoticon": "laetitia.emoticon", "envs": "laetitia.envs"}
FOLDERS["agents"] = "laetitia.agents"

LAYERS: list[tuple[str, ...]] = [
    # 1. leaves
    (
        "laetitia.errors",
        "laetitia.labels",
        "laetitia.types",
        "laetitia.files",
        "laetitia.images",
        "laetitia.records",
        "laetitia.seeding",
        "laetitia.threads",
        "laetitia.run_settings",
    ),
    # 2. the emoticon, and the smile signal
    (
        "laetitia.emoticon*",
        "laetitia.cameras",
        "laetitia.faces*",
        "laetitia.landmarks*",
        "laetitia.fer*",
        "laetitia.signals",
        "laetitia.meter",
        "laetitia.profile",
        "laetitia.logistic",
    ),
    # 3. viewers, the reward rule, sessions
    ("laetitia.viewers*", "laetitia.reward", "laetitia.sessions*"),
    # 4. the environments and the agents
    ("laetitia.envs*", "laetitia.agents*"),
    # 5. the application
    ("laetitia.app*",),
    # 6. the command line
    ("laetitia.cli*",),
]
AGENTS_NEVER_IMPORT = (
    "laetitia.cameras",
    "laetitia.faces*",
    "laetitia.landmarks*",
    "laetitia.fer*",
    "laetitia.signals",
    "laetitia.meter",
    "laetitia.profile",
    "laetitia.viewers.live",
    "laetitia.viewers.live_window",
    "laetitia.app*",
    "laetitia.cli*",
)


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts]
            name = ".".join([package, *(p for p in parts if p != "__init__")])
            found[name] = path
    return found


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            skipped.update(id(sub) for sub in ast.walk(node))
    return skipped


def _imports(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            targets.add(module)
            targets.update(f"{module}.{alias.name}" for alias in node.names)
    edges = set()
    for target in targets:
        if target not in MODULES or target == name:
            continue
        edges.add(target)
        parts = target.split(".")
        for k in range(2, len(parts)):  # the packages above it run their __init__
            parent = ".".join(parts[:k])
            if parent in MODULES and parent != name and not name.startswith(parent + "."):
                edges.add(parent)
    return edges


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or name == p.rstrip("*") for p in patterns)


def layer_of(name: str) -> int:
    for index, patterns in enumerate(LAYERS):
        if _matches(name, patterns):
            return index + 1
    raise AssertionError(f"{name} is in no layer: add it to LAYERS and docs/architecture.md")


def test_every_module_has_a_layer():
    for name in MODULES:
        if name != "laetitia":
            layer_of(name)


def test_there_is_no_import_cycle():
    try:
        graphlib.TopologicalSorter(GRAPH).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


def test_each_layer_imports_only_the_layers_below_it():
    upward = [
        f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})"
        for name, targets in GRAPH.items()
        if name != "laetitia"
        for target in targets
        if target != "laetitia" and layer_of(target) > layer_of(name)
    ]
    assert upward == []


def test_the_emoticon_knows_only_its_errors():
    wrong = [
        (name, target)
        for name, targets in GRAPH.items()
        if name.startswith("laetitia.emoticon")
        for target in targets
        if not target.startswith(("laetitia.emoticon", "laetitia.errors"))
    ]
    assert wrong == []


def test_agents_know_nothing_of_cameras_faces_fer_calibration_or_the_cli():
    wrong = [
        (name, target)
        for name, targets in GRAPH.items()
        if name.startswith("laetitia.agents")
        for target in targets
        if _matches(target, AGENTS_NEVER_IMPORT)
    ]
    assert wrong == []


def test_the_reward_rule_sees_only_the_reaction():
    assert GRAPH["laetitia.reward"] <= {"laetitia.types", "laetitia.labels", "laetitia.errors"}


def test_importing_laetitia_loads_no_heavy_library(fresh_python):
    """`import laetitia` registers the envs and nothing more (the CLI starts fast)."""
    code = (
        "import sys, laetitia, laetitia.cli, laetitia.types\n"
        "heavy = {'torch', 'cv2', 'pygame', 'matplotlib', 'stable_baselines3', 'ray',\n"
        "         'optuna'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    assert fresh_python(code) == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["train", "--viewer", "sim", "--out", "unused", "--steps", "0"],
        ["train", "--agent", "no-such-agent", "--out", "unused"],
        ["demo", "--steps", "-3"],
    ],
)
def test_help_version_and_argument_errors_load_no_heavy_library(argv, tmp_path):
    """`laetitia --help`, `--version` and a wrong argument answer before torch or Ray load."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from laetitia.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'torch', 'stable_baselines3', 'ray', 'matplotlib', 'pygame'}\n"
        "print(sorted(heavy & set(sys.modules)), file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert out.stderr.strip().splitlines()[-1] == "[]"
    assert not (tmp_path / "unused").exists()


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def _raised_strings(path: Path) -> list[tuple[int, str]]:
    """The string literals in each `raise`, and in the module-level constants raises use."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        (node.lineno, sub.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets)
        for sub in ast.walk(node.value)
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str)
    ]
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    found.append((node.lineno, sub.value))
    return found


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith("laetitia.cli")))
def test_library_errors_name_config_fields_not_flags(name):
    flags = [
        f"line {line}: {FLAG.findall(text)}"
        for line, text in _raised_strings(MODULES[name])
        if FLAG.search(text)
    ]
    assert flags == []


def test_atomic_writes_have_one_home():
    """Only laetitia.files renames a temporary file over a target."""
    elsewhere = [
        name
        for name, path in MODULES.items()
        if name != "laetitia.files" and re.search(r"os\.replace|\.rename\(", path.read_text())
    ]
    assert elsewhere == []
