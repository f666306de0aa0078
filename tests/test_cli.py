import subprocess
import sys

from churnkb import __version__


def test_version_is_printed():
    out = subprocess.run([sys.executable, "-m", "churnkb", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"churnkb {__version__}"


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "churnkb", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "usage: churnkb" in out.stdout
