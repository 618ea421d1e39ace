"""The README (and docs/) tell the truth about the command line and the settings file.

Every `blurkit ...` command shown in a code block or an inline code span of README.md and
docs/*.md is checked against the real program: the sub-command exists and every option it
uses appears in that sub-command's `--help` (`blurkit <path> --help`, run once per
sub-command in a subprocess). The examples under each command's `--help` are checked the same
way. Every key of a ```toml block is accepted by `blurkit.config.load_settings` (with each
alternative its comment lists, `mode = "destroy"  # destroy | blur | ...`), and every key the
settings file knows is shown. Benchmark and script paths exist, a benchmark's options are in
its own `--help`, and links to files and headings lead somewhere. So a renamed flag, command,
setting or heading fails CI. The last tests feed the checks a made-up README to show they can
fail.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").rglob("*.md"))]
SHELL_LANGS = {"", "sh", "bash", "shell", "console"}
SKIP_WORDS = {"sudo", "exec", "time", "env"}       # words before the command itself


# --------------------------------------------------------------------------- markdown

@dataclass
class Doc:
    blocks: list[tuple[str, str]] = field(default_factory=list)   # (language, body)
    inline: list[str] = field(default_factory=list)               # inline code spans
    links: list[str] = field(default_factory=list)                # link targets
    headings: list[str] = field(default_factory=list)


def parse(markdown: str) -> Doc:
    doc = Doc()
    fence: str | None = None
    lang, body, prose = "", [], []
    for line in markdown.splitlines():
        stripped = line.strip()
        if fence is None:
            m = re.match(r"^(```+|~~~+)\s*([\w-]*)", stripped)
            if m:
                fence, lang, body = m.group(1), m.group(2).lower(), []
                prose.append("")
                continue
            if stripped.startswith("#"):
                doc.headings.append(stripped.lstrip("#").strip())
            prose.append(line)
            doc.links += re.findall(r"\]\(([^)\s]+)\)", line)
        elif stripped.startswith(fence):
            doc.blocks.append((lang, "\n".join(body)))
            fence = None
        else:
            body.append(line)
    # inline code may run over a line break within a paragraph (never over a blank line)
    for span in re.findall(r"`([^`]+)`", "\n".join(prose)):
        if "\n\n" not in span and not re.search(r"\n\s*\n", span):
            doc.inline.append(" ".join(span.split()))
    return doc


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>|`", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


# --------------------------------------------------------------------------- commands

def segments(text: str) -> list[list[str]]:
    """The simple commands of shell text: words, split at && || | ; > and newlines,
    comments dropped, continuation lines joined."""
    out = []
    for line in text.replace("\\\n", " ").splitlines():
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        lex.commenters = "#"
        try:
            words = list(lex)
        except ValueError:                  # unbalanced quotes: not shell
            continue
        current: list[str] = []
        for word in words:
            if word and set(word) <= set("&|;<>()"):
                out.append(current)
                current = []
            else:
                current.append(word)
        out.append(current)
    return [s for s in out if s]


def blurkit_args(words: list[str]) -> list[str] | None:
    """The arguments after `blurkit` when `words` runs it (`blurkit`, `.venv/bin/blurkit`,
    `python -m blurkit`, after sudo and VAR=value), else None."""
    i = 0
    while i < len(words) and (words[i] in SKIP_WORDS or re.match(r"^\w+=", words[i])):
        i += 1
        while words[i - 1] == "sudo" and i < len(words) and words[i].startswith("-"):
            i += 2 if words[i] in ("-u", "-g") else 1      # sudo's own options
    if i >= len(words):
        return None
    first = words[i]
    if Path(first).name == "blurkit":
        return words[i + 1:]
    if re.match(r"^(.*/)?python3?(\.\d+)?$", first) and words[i + 1:i + 3] == ["-m", "blurkit"]:
        return words[i + 3:]
    return None


def commands_in(markdown: str) -> list[list[str]]:
    """Every blurkit command line shown (its arguments after `blurkit`)."""
    doc = parse(markdown)
    texts = [body for lang, body in doc.blocks if lang in SHELL_LANGS]
    texts += [span for span in doc.inline if "blurkit" in span]
    found = []
    for text in texts:
        for words in segments(text):
            args = blurkit_args(words)
            if args is not None:
                found.append(args)
    return found


class Help:
    """`blurkit <path> --help`, run once per path, in English, in an empty data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.cache: dict[tuple[str, ...], str | None] = {}

    def __call__(self, path: tuple[str, ...]) -> str | None:
        if path not in self.cache:
            env = {**os.environ, "BLURKIT_LANG": "en", "BLURKIT_DATA_DIR": str(self.data_dir)}
            proc = subprocess.run([sys.executable, "-m", "blurkit", *path, "--help"],
                                  capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
            self.cache[path] = proc.stdout if proc.returncode == 0 else None
        return self.cache[path]


def options_part(help_text: str) -> str:
    """The option lists of a help text (not its description or examples)."""
    start = help_text.find("Options:")
    end = help_text.find("Examples:")
    return help_text[start:end if end > start else None]


def has_option(help_text: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])",
                     options_part(help_text)) is not None


def is_group(help_text: str) -> bool:
    return "COMMAND [ARGS]" in help_text.splitlines()[0]


def examples(help_text: str) -> list[str]:
    _, found, rest = help_text.partition("Examples:")
    return [line.strip() for line in rest.splitlines() if line.strip()] if found else []


def command_problems(args: list[str], help_of: Help) -> list[str]:
    """Why `blurkit <args>` would not run as shown: an unknown sub-command, or an option its
    --help does not list."""
    shown = "blurkit " + " ".join(args)
    problems = []
    path: tuple[str, ...] = ()
    help_text = help_of(path)
    assert help_text, "blurkit --help does not answer"
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("-") and not re.match(r"^-\d", word):
            name = word.split("=", 1)[0]
            if not has_option(help_text, name):
                where = "blurkit " + " ".join(path) if path else "blurkit"
                problems.append(f"{shown}: '{name}' is not an option of `{where}`")
            # a group's options with a value (--data-dir DIR, --lang sv) before the command
            if is_group(help_text) and "=" not in word and name in ("--data-dir", "--lang"):
                i += 1
            i += 1
            continue
        if not is_group(help_text):
            i += 1                          # an argument of the command
            continue
        if not re.fullmatch(r"[a-z][a-z0-9-]*", word):
            return problems                 # a placeholder (<command>): nothing more to check
        path = (*path, word)
        help_text = help_of(path)
        if help_text is None:
            return problems + [f"{shown}: there is no command `blurkit {' '.join(path)}`"]
        i += 1
    return problems


def all_command_paths() -> list[tuple[str, ...]]:
    """Every command and sub-command of the program (its click tree)."""
    import click

    import blurkit.cli as cli_package
    for name in set(cli_package.COMMAND_MODULES.values()):
        __import__(f"blurkit.cli.{name}")
    paths, todo = [], [((), cli_package.cli)]
    while todo:
        path, cmd = todo.pop()
        paths.append(path)
        if isinstance(cmd, click.Group):
            todo += [((*path, n), c) for n, c in cmd.commands.items()]
    return sorted(paths)


# --------------------------------------------------------------------------- settings

def settings_problems(markdown: str, tmp: Path) -> tuple[list[str], set[str]]:
    """(why a shown setting would be refused, every key shown)."""
    from blurkit.config import load_settings
    from blurkit.errors import BlurkitError

    problems, keys = [], set()
    tmp.mkdir(parents=True, exist_ok=True)

    def accepted(key: str, value: object) -> str | None:
        (tmp / "settings.toml").write_text(f"{key} = {toml_value(value)}\n", encoding="utf-8")
        try:
            load_settings(tmp)
        except BlurkitError as exc:
            return exc.message("en")
        return None

    for lang, body in parse(markdown).blocks:
        if lang != "toml":
            continue
        try:
            values = tomllib.loads(body)
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"a ```toml block does not parse: {exc}")
            continue
        for key, value in values.items():
            keys.add(key)
            refused = accepted(key, value)
            if refused:
                problems.append(f"{key} = {value!r}: {refused}")
        for line in body.splitlines():
            m = re.match(r"^\s*(\w+)\s*=\s*(.+?)\s*#\s*([\w.-]+(?:\s*\|\s*[\w.-]+)+)", line)
            if not m or m.group(1) not in values:
                continue
            key, example = m.group(1), values[m.group(1)]
            for alternative in re.split(r"\s*\|\s*", m.group(3)):
                value = alternative if isinstance(example, str) else tomllib.loads(
                    f"v = {alternative}")["v"]
                refused = accepted(key, value)
                if refused:
                    problems.append(f"{key} = {value!r} (listed in its comment): {refused}")
    return problems, keys


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


# --------------------------------------------------------------------------- paths

def path_problems(markdown: str, base: Path) -> list[str]:
    """Links to files or headings that lead nowhere; scripts and benchmarks that do not
    exist; benchmark options their own --help does not list."""
    doc = parse(markdown)
    problems = []
    anchors = {slug(h) for h in doc.headings}
    for target in doc.links:
        if re.match(r"^[a-z]+:", target):
            continue                        # https:, mailto:
        file, _, anchor = target.partition("#")
        if file and not (base / file).exists():
            problems.append(f"link to {target}: no such file")
        elif not file and anchor not in anchors:
            problems.append(f"link to #{anchor}: no such heading")
    texts = [body for lang, body in doc.blocks if lang in SHELL_LANGS] + doc.inline
    for text in texts:
        for words in segments(text):
            for i, word in enumerate(words):
                if not re.fullmatch(r"(?:\./)?(benchmarks/\w+\.py|scripts/[\w.-]+)", word):
                    continue
                path = ROOT / word.removeprefix("./")
                if not path.exists():
                    problems.append(f"{word}: no such file")
                elif word.startswith("benchmarks/") or "/benchmarks/" in word:
                    problems += benchmark_option_problems(path, words[i + 1:])
    return problems


_BENCH_HELP: dict[tuple[str, ...], str | None] = {}


def benchmark_help(path: Path, sub: tuple[str, ...] = ()) -> str | None:
    key = (str(path), *sub)
    if key not in _BENCH_HELP:
        proc = subprocess.run([sys.executable, str(path), *sub, "--help"], capture_output=True,
                              text=True, cwd=ROOT, timeout=120)
        ok = proc.returncode == 0 and "usage:" in proc.stdout
        _BENCH_HELP[key] = proc.stdout if ok else None
    return _BENCH_HELP[key]


def benchmark_option_problems(path: Path, args: list[str]) -> list[str]:
    text = benchmark_help(path)
    if text is None:
        return []                           # no argparse (takes plain arguments)
    subs = re.search(r"\{([\w,-]+)\}", text.splitlines()[0])
    if subs and args and args[0] in subs.group(1).split(","):
        text = benchmark_help(path, (args[0],)) or text
    return [f"{path.relative_to(ROOT)} {' '.join(args)}: '{a.split('=')[0]}' is not in its "
            f"--help" for a in args
            if a.startswith("--") and not re.search(
                rf"(?<![\w-]){re.escape(a.split('=')[0])}(?![\w-])", text)]


# --------------------------------------------------------------------------- the tests

@pytest.fixture(scope="module")
def help_of(tmp_path_factory) -> Help:
    return Help(tmp_path_factory.mktemp("empty-data"))


def docs_text() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in DOCS}


def test_the_readme_shows_the_commands_people_need():
    """The parser finds the commands (a check that finds none would pass on anything)."""
    shown = {" ".join(a for a in args[:2] if not a.startswith("-"))
             for args in commands_in(README.read_text(encoding="utf-8"))}
    for needed in ("process", "serve", "watch", "status", "service install", "users add",
                   "models fetch", "consent add", "consent withdraw", "audit verify",
                   "audit export"):
        assert any(s == needed or s.startswith(needed + " ") for s in shown), needed


def test_every_command_and_option_shown_exists(help_of):
    problems = []
    for path, text in docs_text().items():
        for args in commands_in(text):
            problems += [f"{path.name}: {p}" for p in command_problems(args, help_of)]
    assert problems == []


def test_every_example_under_a_commands_help_runs_as_shown(help_of):
    problems = []
    for path in all_command_paths():
        text = help_of(path)
        assert text is not None, f"blurkit {' '.join(path)} --help fails"
        for line in examples(text):
            for words in segments(line):
                args = blurkit_args(words)
                if args is not None:
                    problems += command_problems(args, help_of)
    assert problems == []


def test_every_setting_shown_is_accepted_and_every_setting_is_shown(tmp_path):
    from blurkit.config import _FILE_KEYS

    shown: set[str] = set()
    problems: list[str] = []
    for path, text in docs_text().items():
        found, keys = settings_problems(text, tmp_path / path.stem)
        problems += [f"{path.name}: {p}" for p in found]
        shown |= keys
    assert problems == []
    assert sorted(_FILE_KEYS - shown) == [], "settings the README does not show"


def test_links_scripts_and_benchmarks_exist():
    problems = []
    for path, text in docs_text().items():
        problems += [f"{path.name}: {p}" for p in path_problems(text, path.parent)]
    assert problems == []


# --------------------------------------------------------------------------- it can fail

MADE_UP = """
# A README that lies

See [the figures](#figures-that-are-not-here) and [the plan](docs/no-such-plan.md).

```sh
blurkit process photos/ -o out/ --made-up-flag
blurkit --lang sv consent add "Anna" --photo a.jpg --bogus
blurkit frobnicate --help
.venv/bin/python benchmarks/no_such_benchmark.py
.venv/bin/python benchmarks/stages.py --no-such-option 3
```

Inline too: `blurkit serve --tls-everything`.

```toml
mode = "destroy"    # destroy | smear
colour = "red"
```
"""


def test_the_checks_fail_on_a_made_up_readme(help_of, tmp_path):
    problems = [p for args in commands_in(MADE_UP) for p in command_problems(args, help_of)]
    text = "\n".join(problems)
    assert "'--made-up-flag' is not an option of `blurkit process`" in text
    assert "'--bogus' is not an option of `blurkit consent add`" in text
    assert "there is no command `blurkit frobnicate`" in text
    assert "'--tls-everything' is not an option of `blurkit serve`" in text
    assert len(problems) == 4
    settings, keys = settings_problems(MADE_UP, tmp_path)
    assert keys == {"mode", "colour"}
    assert any(p.startswith("mode = 'smear'") for p in settings)
    assert any(p.startswith("colour = 'red'") for p in settings)
    paths = path_problems(MADE_UP, tmp_path)
    assert "link to #figures-that-are-not-here: no such heading" in paths
    assert "link to docs/no-such-plan.md: no such file" in paths
    assert "benchmarks/no_such_benchmark.py: no such file" in paths
    assert any("'--no-such-option' is not in its --help" in p for p in paths)
