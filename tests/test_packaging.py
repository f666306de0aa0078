"""Installing churnkb adds one import package, so its folders cannot collide with other projects."""

from importlib.metadata import distribution


def test_the_distribution_installs_only_the_churnkb_package():
    top_level = distribution("churnkb").read_text("top_level.txt") or ""
    assert top_level.split() == ["churnkb"]


def test_sandbox_and_benchmarks_live_under_churnkb():
    import churnkb.bench
    import churnkb.sandbox

    assert churnkb.sandbox.__name__ == "churnkb.sandbox"
    assert churnkb.bench.__name__ == "churnkb.bench"


def test_docs_and_code_point_only_at_files_in_the_repo():
    """The design notes outside the repo are not shipped: nothing may send a reader there."""
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True,
                             check=True).stdout.split()
    outside = []
    for name in tracked:
        if not name.endswith((".py", ".md", ".sql", ".yml", ".yaml", ".toml", "Makefile")):
            continue
        text = (repo / name).read_text(encoding="utf-8", errors="replace")
        if any(ref in text for ref in ("DESIGN.md", "NOTES.md", "../shared")):
            outside.append(name)
    assert outside == ["tests/test_packaging.py"]
