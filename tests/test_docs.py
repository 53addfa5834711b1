"""The README and the docs/ pages say what is true of the code and of BENCHMARKS.md.

- Every `laetitia ...` command they show (in a code block, or in an inline code span) parses
  with the CLI's own parser (`laetitia.cli.build_parser`): the command and every flag exist
  and take the values shown. Placeholders (`DIR`, `N`, `<FOLDER>`) stand for a dummy value;
  nothing is run.
- Every figure the README quotes from BENCHMARKS.md is a link to the section that holds it,
  `[54.5 steps](BENCHMARKS.md#section)`, and that section says the link's text word for word.
- The README's agent table names every agent `laetitia train --agent` knows, with the
  environment it learns on, and every link to a docs page or a picture leads to a file.
- The README stays a front door and BENCHMARKS.md a page of answers: at most about 250 and
  400 lines.
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from laetitia.agents import AGENTS
from laetitia.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BENCHMARKS = ROOT / "BENCHMARKS.md"
PAGES = (README, *sorted((ROOT / "docs").glob("*.md")))

README_MAX_LINES = 260
BENCHMARKS_MAX_LINES = 410

FENCE = re.compile(r"^(\s*)(```+|~~~+)(.*)$")
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
PROGRAM = re.compile(r"^(?:\S*/)?laetitia$")
ENV_PREFIX = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
NUMBER_PLACEHOLDERS = {"N", "K", "C", "SIZE", "SEED", "INDEX", "PORT"}
SHELL_ENDS = {"|", "&&", "||", ";", ">", ">>", "2>", "&"}


@dataclass(frozen=True)
class Command:
    """One `laetitia` command line found in a page."""

    page: str
    line: int
    text: str
    inline: bool
    """True for a command named in running text (an inline code span), which may be partial."""

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.text}"


def _placeholder(word: str) -> str:
    """A dummy value for a placeholder word, the word itself otherwise.

    `<FOLDER>` and all-capital words (`DIR`, `OUT.json`, `S1`, `KEY=VALUE`) are placeholders;
    a number's (`N`, `SEED`) is 1, anything else a path-like word.
    """
    if word.startswith("<") and word.endswith(">"):
        word = word[1:-1]
    if word in NUMBER_PLACEHOLDERS:
        return "1"
    if word == "COMMAND":  # `laetitia COMMAND --help`: any command
        return "train"
    stem = word.split(".")[0].split("=")[0].split(":")[0]
    if re.fullmatch(r"[A-Z][A-Z0-9_]*", stem) and not word.startswith("-"):
        return word.lower()
    return word


def _arguments(text: str) -> list[str] | None:
    """The arguments after `laetitia` in one shell line, or None if it runs something else.

    Environment prefixes (`SDL_VIDEODRIVER=dummy`, `taskset -c 1`) are skipped; a comment, a
    pipe or a redirection ends the command; `[...]` (optional parts shown in brackets) is
    dropped, and `a|b` alternatives keep the first.
    """
    text = re.sub(r"\[[^\]]*\]", " ", text)  # optional parts: "[--steps N]"
    try:
        words = shlex.split(text, comments=True)
    except ValueError:
        return None
    while words and (ENV_PREFIX.match(words[0]) or words[0] in {"taskset", "-c", "1"}):
        words = words[1:]
    if not words or not PROGRAM.match(words[0]):
        return None
    args: list[str] = []
    for word in words[1:]:
        if word in SHELL_ENDS:
            break
        if "|" in word and not word.startswith("-"):
            word = word.split("|")[0]
        args.append(_placeholder(word))
    return args


def _commands(page: Path) -> list[Command]:
    """Every `laetitia` command line in `page`: code blocks, and inline code spans."""
    found: list[Command] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        start = i + 1
        opened = FENCE.match(line)
        if opened:
            marker = opened.group(2)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            i += 1
            continue
        if fence is not None:
            text = line
            while text.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text.rstrip()[:-1] + " " + lines[i].strip()
            if _arguments(text) is not None:
                found.append(Command(page.name, start, text.strip(), inline=False))
        else:
            for span in INLINE.findall(line):
                if span.startswith("laetitia ") and _arguments(span) is not None:
                    found.append(Command(page.name, start, span, inline=True))
        i += 1
    return found


ALL_COMMANDS = [command for page in PAGES for command in _commands(page)]


def test_the_pages_show_commands() -> None:
    """The collector finds the commands (a broken collector would pass every check below)."""
    assert len(ALL_COMMANDS) > 40
    assert any(c.page == "README.md" and "train" in c.text for c in ALL_COMMANDS)


def _unknown_names(parser: argparse.ArgumentParser, args: list[str]) -> list[str]:
    """The subcommands and flags of `args` that `parser` does not have, values unchecked.

    A command named in running text may leave out what it needs (`laetitia train
    --agent-config`), so only its names are checked: each subcommand, then each flag of the
    command it reaches.
    """
    unknown: list[str] = []
    for word in args:
        if word.startswith("-"):
            if word.split("=")[0] not in parser._option_string_actions:
                unknown.append(word)
            continue
        commands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if commands:
            if word not in commands[0].choices:
                return [*unknown, word]
            parser = commands[0].choices[word]
    return unknown


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=str)
def test_every_command_shown_parses(command: Command) -> None:
    """The command and its flags exist, and a whole command line takes the values shown."""
    args = _arguments(command.text)
    assert args is not None
    parser = build_parser()
    if command.inline:
        assert not _unknown_names(parser, args), f"{command}: no such command or flag"
        return
    try:
        parser.parse_args(args)
    except SystemExit as stop:
        assert stop.code == 0, f"{command} does not parse: laetitia {shlex.join(args)}"


def test_a_wrong_flag_is_caught() -> None:
    """The checks above fail on a flag or a command that does not exist."""
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(_arguments("laetitia train --no-such-flag 3") or [])
    assert stop.value.code == 2
    parser = build_parser()
    assert _unknown_names(parser, ["train", "--no-such-flag"]) == ["--no-such-flag"]
    assert _unknown_names(parser, ["fer", "no-such-command"]) == ["no-such-command"]
    assert _unknown_names(parser, ["fer", "train", "--resume", "x"]) == []


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _sections(page: Path) -> dict[str, str]:
    """Each heading's anchor, with the text under it up to the next heading of its level."""
    sections: dict[str, str] = {}
    open_: list[tuple[int, str]] = []
    for line in page.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^(#+)\s+(.*)$", line)
        if heading:
            level = len(heading.group(1))
            open_ = [(lv, slug) for lv, slug in open_ if lv < level]
            slug = _slug(heading.group(2))
            sections.setdefault(slug, "")
            open_.append((level, slug))
        for _, slug in open_:
            sections[slug] += line + "\n"
    return sections


def _plain(text: str) -> str:
    """Markdown text without emphasis and code marks, its spaces single."""
    return re.sub(r"\s+", " ", re.sub(r"[*`]", "", text))


FIGURE_LINK = re.compile(r"\[([^\]]+)\]\(BENCHMARKS\.md#([\w\-]+)\)")


def test_readme_quotes_figures_from_benchmarks() -> None:
    """Each figure the README quotes is in the BENCHMARKS.md section it links to."""
    readme = README.read_text(encoding="utf-8")
    sections = {slug: _plain(text) for slug, text in _sections(BENCHMARKS).items()}
    quoted = FIGURE_LINK.findall(readme)
    assert len(quoted) >= 5, "the README quotes its figures as links to BENCHMARKS.md"
    wrong = [
        f"{text!r} -> #{anchor}"
        for text, anchor in quoted
        if anchor not in sections or _plain(text) not in sections[anchor]
    ]
    assert not wrong, f"figures the README quotes that BENCHMARKS.md does not say: {wrong}"


def test_links_between_pages_lead_somewhere() -> None:
    """Every relative link of the README and the docs pages names a file, and its anchor."""
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve()
            if not file.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and file.suffix == ".md" and anchor not in _sections(file):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken


def test_readme_agent_table_is_the_registry() -> None:
    """The README's agents are `laetitia train --agent`'s, each with the env it learns on."""
    rows = re.findall(
        r"^\| `([a-z\-]+)` \| `(?:laetitia/)?(Smile\w*-v\d)` \|",
        README.read_text(encoding="utf-8"),
        re.M,
    )
    table = dict(rows)
    assert set(table) == set(AGENTS), "the README's agent table and laetitia.agents.AGENTS"
    for name, env in table.items():
        assert f"laetitia/{env}" == AGENTS[name].env_id, f"{name} learns on {AGENTS[name].env_id}"


@pytest.mark.parametrize(
    ("page", "most"), [(README, README_MAX_LINES), (BENCHMARKS, BENCHMARKS_MAX_LINES)]
)
def test_front_pages_stay_short(page: Path, most: int) -> None:
    """The README is a front door and BENCHMARKS.md a page of answers, not logs."""
    lines = len(page.read_text(encoding="utf-8").splitlines())
    assert lines <= most, f"{page.name} has {lines} lines; move detail to docs/ or history"


def test_bayes_opt_help_names_its_default_acquisition() -> None:
    """`laetitia train --help` says how bayes-opt chooses by default, and no other way."""
    from laetitia.agents.bayes_opt import BayesOptSettings

    names = {"thompson": "Thompson sampling", "log-ei": "LogEI", "ucb": "UCB"}
    summary = AGENTS["bayes-opt"].summary
    default = BayesOptSettings().acquisition
    assert names[default] in summary
    assert not [name for key, name in names.items() if key != default and name in summary]
