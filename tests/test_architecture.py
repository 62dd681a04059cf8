"""docs/architecture.md's module map matches the tree, modules stay small, README stays a page for users."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
README_MAX_BYTES = 12 * 1024
MODULE_MAX_LINES = 400


def mapped_modules() -> list[str]:
    """The module paths named in the "Module map" section of docs/architecture.md, in order."""
    text = ARCHITECTURE.read_text()
    section = re.search(r"^## Module map\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "docs/architecture.md must have a '## Module map' section followed by another '## ' section"
    return re.findall(r"^\| `(playground/[\w/]+\.py)` \|", section.group(1), re.M)


def modules_on_disk() -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / "playground").rglob("*.py")}


def test_the_map_parser_reads_rows_and_nothing_else():
    rows = mapped_modules()
    assert "playground/engine/run.py" in rows and "playground/cli.py" in rows
    assert len(rows) == len(set(rows)), f"docs/architecture.md names a module twice: {sorted(rows)}"


def test_every_module_on_disk_is_in_the_map():
    missing = sorted(modules_on_disk() - set(mapped_modules()))
    assert not missing, "docs/architecture.md's module map lacks " + "; ".join(
        f"{path}: add the row | `{path}` | <what it holds, in one line> |" for path in missing)


def test_every_module_in_the_map_exists():
    stale = sorted(set(mapped_modules()) - modules_on_disk())
    assert not stale, "docs/architecture.md's module map names modules that do not exist: " + "; ".join(
        f"{path}: fix the path or remove its row" for path in stale)


def test_no_module_is_over_the_line_limit():
    long = {path: len((ROOT / path).read_text().splitlines()) for path in sorted(modules_on_disk())}
    too_long = {path: lines for path, lines in long.items() if lines > MODULE_MAX_LINES}
    assert not too_long, f"modules over {MODULE_MAX_LINES} lines (split them by concern): {too_long}"


def test_readme_is_a_page_for_users():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_MAX_BYTES, (f"README.md is {size} bytes, over {README_MAX_BYTES}: move measurements to "
                                      "docs/performance.md, recipes to docs/recipes.md, design to docs/architecture.md")


def test_docs_stay_inside_the_repository():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert "shared/DESIGN.md" not in path.read_text(), (
            f"{path.relative_to(ROOT)} links to shared/DESIGN.md, outside the repository: link docs/architecture.md")
