"""The benchmarks' one results file, ``bench/results.json``.

Every benchmark script records what it prints -- its tables, its targets (met or not) and
notes -- with a :class:`Recorder`, one *section* at a time (the sections a script's
``--only`` selects), and :meth:`Recorder.save` merges them into the results file: each
section replaces the same section of an earlier run and carries its own date, machine and
load.  ``bench/tables.py`` renders the README's headline table and ``docs/benchmarks*.md``
from that file, so a number appears in the documentation only as the file has it.

A ``--quick`` run is not comparable and is not saved unless a path is given.  Standard
library only: ``bench_cluster.py`` imports it in the actors environment too.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("results.json")

ABOUT = (
    "Written by `make bench` (each bench script merges the sections it ran); rendered into "
    "README.md and docs/benchmarks*.md by bench/tables.py. Edit by re-running a benchmark."
)


def load_average() -> str:
    if not hasattr(os, "getloadavg"):
        return "unknown"
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    return f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs"


class Recorder:
    """Tables, targets and notes of one benchmark run, by section.

    ``bench`` names the run in the results file (``"supervisor-asyncio"``); ``setup``
    describes what ran (library versions, the accelerator) and is stored with each section.
    """

    def __init__(
        self, bench: str, *, setup: str = "", quick: bool = False, path: str | None = None
    ) -> None:
        self.bench = bench
        self.quick = quick
        self.path = Path(path) if path else (None if quick else PATH)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.info = {
            "date": now.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "python": platform.python_version(),
            "setup": setup + (" (--quick)" if quick else ""),
            "load": f"{load_average()} at the start",
        }
        self.sections: dict[str, dict[str, Any]] = {}
        self.current = ""

    def section(self, name: str) -> None:
        """Record what follows under ``name`` (one of the script's sections)."""
        self.current = name
        self.sections.setdefault(name, {"tables": [], "targets": [], "notes": []})

    def _here(self) -> dict[str, Any]:
        if not self.current:
            self.section("main")
        return self.sections[self.current]

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        """A table as printed: its title, column names and rows of cells (as text)."""
        self._here()["tables"].append(
            {
                "title": title,
                "columns": [str(c) for c in columns],
                "rows": [[str(c) for c in row] for row in rows],
            }
        )

    def target(self, key: str, target: str, measured: str, met: bool | None) -> None:
        """One target: a stable ``key`` (the tables refer to it), what it asks, the figure."""
        self._here()["targets"].append(
            {"key": key, "target": target, "measured": measured, "met": met}
        )

    def note(self, text: str) -> None:
        self._here()["notes"].append(text)

    def set(self, name: str, value: Any) -> None:
        """Any other value of the current section (the parser's report text)."""
        self._here()[name] = value

    def save(self) -> Path | None:
        """Merge the recorded sections into the results file (not for ``--quick`` runs
        without a path); returns the path written, if any."""
        if self.path is None or not self.sections:
            return None
        data = read(self.path)
        run = data.setdefault(self.bench, {})
        info = dict(self.info, load=f"{self.info['load']}, {load_average()} at the end")
        for name, body in self.sections.items():
            run[name] = {**info, **body}
        write(data, self.path)
        print(f"results: sections {', '.join(self.sections)} of {self.bench!r} -> {self.path}")
        return self.path


def read(path: Path | str = PATH) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        data = {}
    data["about"] = ABOUT
    return data


def write(data: dict[str, Any], path: Path | str = PATH) -> None:
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    # a list of strings (a table's row, its columns) on one line
    text = re.sub(
        r'\[\n\s*("(?:[^"\\]|\\.)*"(?:,\n\s*"(?:[^"\\]|\\.)*")*)\n\s*\]',
        lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]",
        text,
    )
    tmp = Path(f"{path}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def markdown_tables(text: str) -> list[dict[str, Any]]:
    """The pipe tables of a markdown text, each with the paragraph or heading above it as
    its title (the parser benchmark's report is recorded this way)."""
    tables: list[dict[str, Any]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if (
            lines[i].startswith("|")
            and i + 1 < len(lines)
            and re.match(r"\|[-:| ]+\|$", lines[i + 1])
        ):
            title = ""
            for back in range(i - 1, -1, -1):
                if lines[back].strip():
                    title = lines[back].strip().lstrip("#").strip().strip("*")
                    break
            columns = _cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            tables.append({"title": title, "columns": columns, "rows": rows})
        else:
            i += 1
    return tables


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]
