"""Render the benchmark tables of the documentation from ``bench/results.json``.

Run: ``python bench/tables.py`` (the last step of ``make bench``) rewrites every generated
block of README.md, docs/benchmarks.md and docs/benchmarks-parser.md; ``--check`` only says
which blocks differ from what the results file gives (exit status 1).  A generated block is
the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``; everything outside
the blocks is written by hand and holds no measured figure.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import results  # noqa: E402

FILES = ["README.md", "docs/benchmarks.md", "docs/benchmarks-parser.md"]
BLOCK = re.compile(r"(<!-- bench:([\w-]+) -->\n)(.*?)(<!-- /bench:\2 -->)", re.S)

Data = dict[str, Any]


# -- pieces -----------------------------------------------------------------------------------


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(columns: list[str], rows: Iterable[list[Any]]) -> str:
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: ""}[met]


def run_line(section: Data) -> str:
    parts = [section["date"], section["machine"], f"Python {section['python']}"]
    parts += [section[k] for k in ("setup",) if section.get(k)]
    parts.append(f"load average {section['load']}")
    line = "Run: " + "; ".join(parts) + "."
    if section.get("source"):
        line += f" ({section['source']})"
    return f"*{line}*"


def sections(data: Data, bench: str) -> list[tuple[str, Data]]:
    return list(data.get(bench, {}).items())


def runs(items: list[tuple[str, Data]]) -> list[list[tuple[str, Data]]]:
    """Consecutive sections grouped by their run (date, machine, load...)."""
    keys = ("date", "machine", "python", "setup", "load", "source")
    groups: list[list[tuple[str, Data]]] = []
    for name, sec in items:
        info = tuple(sec.get(k) for k in keys)
        if groups and tuple(groups[-1][0][1].get(k) for k in keys) == info:
            groups[-1].append((name, sec))
        else:
            groups.append([(name, sec)])
    return groups


def targets(data: Data, bench: str, *names: str) -> list[Data]:
    out = []
    for name, sec in sections(data, bench):
        if not names or name in names:
            out += [dict(t, date=sec["date"].split()[0]) for t in sec.get("targets", [])]
    return out


def find_target(data: Data, bench: str, key: str) -> Data | None:
    return next((t for t in targets(data, bench) if t["key"] == key), None)


def tables_and_notes(sec: Data, heading: str = "####") -> list[str]:
    out = []
    for t in sec.get("tables", []):
        out += [f"**{t['title']}**", "", table(t["columns"], t["rows"]), ""]
    for n in sec.get("notes", []):
        out += [f"- {n}"]
    if sec.get("notes"):
        out.append("")
    return out


def targets_table(items: list[Data]) -> str:
    return table(
        ["target", "measured", ""], [[t["target"], t["measured"], verdict(t["met"])] for t in items]
    )


# -- blocks -----------------------------------------------------------------------------------

# The README's headline figures: (layer, bench, target key)
HEADLINE = [
    ("parser", "parser", "tokens_100kb"),
    ("parser", "parser", "jiter_100kb"),
    ("parser", "parser", "llm_mode"),
    ("supervisor (trio)", "supervisor-trio", "send_per_chunk"),
    ("supervisor (trio)", "supervisor-trio", "send_many"),
    ("supervisor (trio)", "supervisor-trio", "latency_p99"),
    ("supervisor (asyncio)", "supervisor-asyncio", "send_many"),
    ("adapters", "pipeline", "chat_rate"),
    ("adapters", "pipeline", "openai_sdk"),
    ("adapters + supervisor", "pipeline", "fanin.1"),
    ("adapters + supervisor", "pipeline", "fanin.2"),
    ("cluster", "cluster", "two_workers"),
]


def block_headline(data: Data) -> str:
    rows = []
    for layer, bench, key in HEADLINE:
        t = find_target(data, bench, key)
        if t is not None:
            rows.append([layer, t["target"], t["measured"], verdict(t["met"]), t["date"]])
    serve = lookup(data, "serve", "Ingest", {"path": "HTTP, one streamed", "server": "h11"})
    if serve is not None:
        row, sec = serve
        rows.append(
            [
                "`jsonvisor serve`",
                "HTTP ingest, one streamed request per message, vs in-process `send`",
                f"{row['chunks/s']} chunks/s, {row['vs in-process']}",
                "",
                sec["date"].split()[0],
            ]
        )
    return table(["layer", "target", "measured", "", "run"], rows)


def lookup(
    data: Data, bench: str, title: str, where: dict[str, str]
) -> tuple[dict[str, str], Data] | None:
    """The first row (as a dict) of a table whose title starts with ``title`` and whose
    cells start with the values of ``where``."""
    for _, sec in sections(data, bench):
        for t in sec.get("tables", []):
            if t["title"].startswith(title):
                for r in t["rows"]:
                    row = dict(zip(t["columns"], r, strict=False))
                    if all(row.get(k, "").startswith(v) for k, v in where.items()):
                        return row, sec
    return None


def block_parser(data: Data) -> str:
    out = []
    for group in runs(sections(data, "parser")):
        out += [run_line(group[0][1]), ""]
    out.append(targets_table(targets(data, "parser")))
    return "\n".join(out)


def block_parser_report(data: Data) -> str:
    out = []
    for group in runs(sections(data, "parser")):
        out += [run_line(group[0][1]), ""]
        for _, sec in group:
            out += [sec["markdown"].strip(), ""]
    return "\n".join(out).strip()


def markdown_rows(markdown: str, first: str) -> list[dict[str, str]]:
    """The rows (as dicts) of the markdown table whose header starts with ``first``."""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(first):
            columns = [c.strip() for c in line.strip("|").split("|")]
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                cells = [c.strip() for c in row.strip("|").split("|")]
                rows.append(dict(zip(columns, cells, strict=False)))
            return rows
    return []


def block_peers(data: Data) -> str:
    """The peers matrix in short: best peer / jsonvisor by input and chunking, by size."""
    sec = dict(sections(data, "parser")).get("peers")
    if sec is None:
        return "*No peers run recorded.*"
    rows = markdown_rows(sec["markdown"], "| size | input | chunking |")
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    matrix: dict[str, dict[str, str]] = {}
    for r in rows:
        shown = r["best peer / jsonvisor"] + ("" if r["target >= 1.5x"] == "met" else " (missed)")
        matrix.setdefault(f"{r['input']}, {r['chunking'].split(' (')[0]}", {})[r["size"]] = shown
    body = table(
        ["input, chunking", *sizes],
        [[k, *(v.get(z, "") for z in sizes)] for k, v in matrix.items()],
    )
    goal = next((t for t in sec.get("targets", []) if t["key"] == "peers"), None)
    said = f"Target: {goal['target']}: {goal['measured']}, {verdict(goal['met'])}." if goal else ""
    return "\n".join([run_line(sec), "", body, *(["", said] if said else [])])


def block_supervisor(data: Data) -> str:
    trio, aio = dict(sections(data, "supervisor-trio")), dict(sections(data, "supervisor-asyncio"))
    rows = []
    for name in ("fanin", "latency", "offload", "memory"):
        ts = {t["key"]: t for t in (trio.get(name) or {}).get("targets", [])}
        ta = {t["key"]: t for t in (aio.get(name) or {}).get("targets", [])}
        for key in dict.fromkeys([*ts, *ta]):
            a, b = ts.get(key), ta.get(key)
            rows.append(
                [
                    (a or b or {}).get("target", key),
                    f"{a['measured']}: {verdict(a['met'])}" if a else "",
                    f"{b['measured']}: {verdict(b['met'])}" if b else "",
                ]
            )

    def when(secs: dict[str, Data]) -> str:
        return ", ".join(sorted({s["date"].split()[0] for s in secs.values()}))

    out = [table(["target", f"trio ({when(trio)})", f"asyncio ({when(aio)})"], rows), ""]
    for backend, secs in (("trio", trio), ("asyncio", aio)):
        out += [f"### On {backend}", ""]
        for group in runs(list(secs.items())):
            out += [run_line(group[0][1]), ""]
            for _, sec in group:
                out += tables_and_notes(sec)
    return "\n".join(out).strip()


def block_bench(bench: str) -> Callable[[Data], str]:
    def render(data: Data) -> str:
        out = []
        for group in runs(sections(data, bench)):
            out += [run_line(group[0][1]), ""]
            for _, sec in group:
                out += tables_and_notes(sec)
        items = targets(data, bench)
        if items:
            out += ["**Targets**", "", targets_table(items)]
        return "\n".join(out).strip()

    return render


BLOCKS: dict[str, Callable[[Data], str]] = {
    "headline": block_headline,
    "peers": block_peers,
    "parser": block_parser,
    "parser-report": block_parser_report,
    "supervisor": block_supervisor,
    "pipeline": block_bench("pipeline"),
    "serve": block_bench("serve"),
    "cluster": block_bench("cluster"),
}


# -- files ------------------------------------------------------------------------------------


def render(text: str, data: Data) -> str:
    """``text`` with every generated block rendered from ``data``."""

    def one(m: re.Match[str]) -> str:
        name = m.group(2)
        if name not in BLOCKS:
            raise KeyError(f"unknown generated block {name!r} (known: {', '.join(BLOCKS)})")
        return f"{m.group(1)}{BLOCKS[name](data)}\n{m.group(4)}"

    return BLOCK.sub(one, text)


def blocks(text: str) -> dict[str, str]:
    return {m.group(2): m.group(3) for m in BLOCK.finditer(text)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report blocks that differ")
    ap.add_argument("--results", default=str(results.PATH), help="the results file")
    args = ap.parse_args()
    data = results.read(args.results)
    stale = []
    for name in FILES:
        path = ROOT / name
        text = path.read_text(encoding="utf-8")
        new = render(text, data)
        if new != text:
            stale.append(name)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    if args.check:
        for name in stale:
            print(f"{name}: generated tables differ from {args.results} (run bench/tables.py)")
        return 1 if stale else 0
    print(f"tables: {', '.join(stale) or 'nothing'} rewritten from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
