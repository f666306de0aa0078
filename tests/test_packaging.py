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
