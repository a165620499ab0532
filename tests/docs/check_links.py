#!/usr/bin/env python3
"""Check that the repository's Markdown links stay inside the repository.

Usage: python3 tests/docs/check_links.py REPO_ROOT

Scans README.md and every *.md file under REPO_ROOT (skipping build/, results/ and hidden
folders such as .git/ and .pytest_cache/, except .github/) for Markdown links and images,
`[text](target)` and `![alt](target)`, and reference definitions `[label]: target`, and
fails (exit 1, one line per problem: file:line: target: reason) when a target

- is an absolute filesystem path,
- leaves the repository root through `..`,
- names a file or folder that does not exist in the repository, or
- is an http(s) link to anywhere but doi.org (doi.org links are allowed and listed).

It also fails when a row of docs/replication.md's results table names no `configs/NAME.ini`
that exists and that tools/replicate.sh runs.

A `#anchor` after a file is ignored; a link that is only `#anchor` is fine. Links inside
fenced code blocks and inline code spans are not links and are skipped.

It also checks that docs/model.md exists and contains every equation label M1..M14.
Standard library only.
"""

import os
import re
import sys
from urllib.parse import unquote, urlparse

# Generated or third-party folders; hidden folders other than .github are skipped too.
SKIP_DIRS = {"build", "results", "node_modules", "__pycache__"}
ALLOWED_HOSTS = {"doi.org", "dx.doi.org"}

# [text](target) or ![alt](target), target up to the first space or ')'; an optional
# "title" after the target is allowed. Nested brackets in the text are not needed here.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
# Reference-style definitions: [label]: target
DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")


def markdown_files(root):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d for d in dirs if d not in SKIP_DIRS and (d == ".github" or not d.startswith("."))
        )
        for name in sorted(files):
            if name.lower().endswith(".md"):
                yield os.path.join(folder, name)


def links_of(path):
    """(line number, target) for every link in the file, outside code."""
    in_fence = None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fence = FENCE.match(line)
            if fence:
                marker = fence.group(1)
                if in_fence is None:
                    in_fence = marker
                elif in_fence == marker:
                    in_fence = None
                continue
            if in_fence is not None:
                continue
            text = CODE_SPAN.sub("", line)
            for match in LINK.finditer(text):
                yield number, match.group(1)
            definition = DEFINITION.match(text)
            if definition:
                yield number, definition.group(1)


def problem(root, path, target):
    """None if the link is fine, else the reason; ('doi', url) for an allowed web link."""
    if target == "" or target.startswith("#"):
        return None
    parsed = urlparse(target)
    if parsed.scheme in ("http", "https"):
        host = (parsed.hostname or "").lower()
        if host in ALLOWED_HOSTS:
            return "doi"
        return "web link outside doi.org"
    if parsed.scheme == "mailto":
        return "mailto link"
    if parsed.scheme and len(parsed.scheme) > 1:
        return f"link with scheme '{parsed.scheme}:'"
    file_part = unquote(target.split("#", 1)[0].split("?", 1)[0])
    if file_part == "":
        return None
    windows_drive = re.match(r"^[A-Za-z]:[\\/]", file_part)
    if os.path.isabs(file_part) or windows_drive or file_part.startswith("~"):
        return "absolute filesystem path"
    resolved = os.path.realpath(os.path.join(os.path.dirname(path), file_part))
    real_root = os.path.realpath(root)
    if os.path.commonpath([resolved, real_root]) != real_root:
        return "leaves the repository root"
    if not os.path.exists(resolved):
        return "no such file in the repository"
    return None


def check_model(root):
    """Problems with docs/model.md: missing, or an equation label M1..M14 absent."""
    path = os.path.join(root, "docs", "model.md")
    if not os.path.isfile(path):
        return ["docs/model.md: missing (the model specification the code cites)"]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    missing = [f"M{i}" for i in range(1, 15) if not re.search(rf"\bM{i}(?!\d)", text)]
    if missing:
        return [f"docs/model.md: equation labels missing: {', '.join(missing)}"]
    return []


def check_replication_configs(root):
    """Every row of docs/replication.md's tables with a config column names a config that its
    study runs: configs/NAME.ini run by tools/replicate.sh, configs/paper/NAME.ini by
    tools/replicate_paper.sh (the report's numbers come from exactly those files). A row
    continuing the one above (first two cells empty) is part of it."""
    path = os.path.join(root, "docs", "replication.md")
    if not os.path.isfile(path):
        return []
    studies = {}  # folder below configs/ ("" or "paper/") -> (script, the configs it runs)
    for folder, script, pattern in (("", "replicate.sh", r"^experiments=\(([^)]*)\)"),
                                    ("paper/", "replicate_paper.sh", r'^all="([^"]*)"')):
        script_path = os.path.join(root, "tools", script)
        if os.path.isfile(script_path):
            with open(script_path, encoding="utf-8") as f:
                match = re.search(pattern, f.read(), re.M)
            studies[folder] = (script, set(match.group(1).split()) if match else set())
    problems, rows, in_table, has_config = [], 0, False, False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.startswith("|"):
                in_table = False
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not in_table:  # the header row
                in_table, has_config = True, len(cells) > 1 and cells[1] == "config"
                continue
            if not has_config or cells[1].startswith("---") or (not cells[0] and not cells[1]):
                continue
            rows += 1
            config = re.fullmatch(r"`configs/((?:paper/)?)(\w+)\.ini`", cells[1])
            if not config:
                problems.append(f"docs/replication.md:{number}: row '{cells[0]}' names no configs/NAME.ini")
                continue
            folder, name = config.groups()
            if not os.path.isfile(os.path.join(root, "configs", folder + name + ".ini")):
                problems.append(f"docs/replication.md:{number}: configs/{folder}{name}.ini missing")
            elif folder not in studies or name not in studies[folder][1]:
                script = studies.get(folder, (f"the script of configs/{folder}",))[0]
                problems.append(f"docs/replication.md:{number}: tools/{script} does not run {folder}{name}")
    if rows == 0:
        problems.append("docs/replication.md: no results table with a config column")
    return problems


def main(argv):
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        print(f"usage: {os.path.basename(argv[0])} REPO_ROOT", file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    files = list(markdown_files(root))
    if not os.path.isfile(os.path.join(root, "README.md")):
        print("README.md: missing")
        return 1
    n_links, dois, failures = 0, [], []
    for path in files:
        rel = os.path.relpath(path, root)
        for number, target in links_of(path):
            n_links += 1
            reason = problem(root, path, target)
            if reason == "doi":
                dois.append(f"{rel}:{number}: {target}")
            elif reason:
                failures.append(f"{rel}:{number}: {target}: {reason}")
    failures += check_model(root)
    failures += check_replication_configs(root)

    print(f"checked {n_links} links in {len(files)} Markdown files under {root}")
    for line in dois:
        print(f"  doi.org link: {line}")
    if failures:
        print(f"FAILED: {len(failures)} problem(s):")
        for line in failures:
            print(f"  {line}")
        return 1
    print("OK: every link stays inside the repository; docs/model.md has M1..M14; every replication row has its config")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
