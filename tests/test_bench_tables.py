"""The benchmark figures in the README and docs are the ones in bench/results.json.

``make bench`` merges every run into the results file and ``bench/tables.py`` renders the
tables from it; this checks that what is committed is what the generator renders from the
committed results file, and that no page restates a measured figure by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import results  # noqa: E402
import tables  # noqa: E402

DATA = results.read(results.PATH)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXPECTED_BLOCKS = {
    "README.md": {"headline", "peers"},
    "docs/benchmarks.md": {"parser", "supervisor", "pipeline", "serve", "cluster"},
    "docs/benchmarks-parser.md": {"parser-report"},
}


@pytest.mark.parametrize("name", tables.FILES)
def test_generated_tables_match_the_results_file(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    assert set(tables.blocks(text)) == EXPECTED_BLOCKS[name]
    assert tables.render(text, DATA) == text, f"run `python bench/tables.py` ({name} is stale)"


def test_only_the_generator_files_have_generated_blocks() -> None:
    for page in PAGES:
        if str(page.relative_to(ROOT)) not in tables.FILES:
            assert not tables.blocks(page.read_text(encoding="utf-8")), page


def test_every_section_says_when_where_and_how_loaded() -> None:
    benches = {k: v for k, v in DATA.items() if k != "about"}
    assert set(benches) >= {"parser", "supervisor-trio", "supervisor-asyncio", "pipeline"}
    assert {"serve", "cluster"} <= set(benches)
    for bench, sections in benches.items():
        for name, sec in sections.items():
            for key in ("date", "machine", "python", "load"):
                assert sec.get(key), (bench, name, key)
            assert re.match(r"\d{4}-\d\d-\d\d", sec["date"]), (bench, name)
            assert sec.get("tables") or sec.get("targets") or sec.get("markdown"), (bench, name)


def test_parser_targets_are_read_from_its_report() -> None:
    bench_parser = pytest.importorskip("bench_parser")
    for name, sec in DATA["parser"].items():
        derived = bench_parser.summary_targets(name, sec["markdown"])
        assert [(t["key"], t["target"], t["measured"], t["met"]) for t in sec["targets"]] == [
            tuple(t) for t in derived
        ]


def figures() -> set[str]:
    """The distinctive figures of the results file: ratios with decimals (``12.4x``) and
    numbers grouped in thousands (``651,940``)."""
    found: set[str] = set()
    pattern = re.compile(r"(?<![\w.])(\d+\.\d+x|\d{1,3}(?:,\d{3})+)(?![\w,])")

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.update(pattern.findall(value))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk({k: v for k, v in DATA.items() if k != "about"})
    # round numbers are workloads and targets (1,000 messages, 1.00x), not measurements
    return {f for f in found if not re.fullmatch(r"\d0*", re.sub(r"[,.x]", "", f))}


def test_no_page_restates_a_measured_figure() -> None:
    """A figure measured by the benchmarks appears only in a generated block: a copy typed
    into the prose would go stale at the next ``make bench``."""
    known = figures()
    for page in PAGES:
        text = tables.BLOCK.sub("", page.read_text(encoding="utf-8"))
        text = re.sub(r"```.*?```", "", text, flags=re.S)  # examples' own numbers
        copied = sorted(f for f in known if re.search(rf"(?<![\w.,]){re.escape(f)}(?![\w,])", text))
        assert not copied, f"{page.relative_to(ROOT)} restates measured figures: {copied}"
