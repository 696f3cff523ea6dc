"""The core package never imports Django, Channels, asgiref or daphne."""

from __future__ import annotations

import subprocess
import sys
import textwrap

FORBIDDEN = ("django", "channels", "asgiref", "daphne")

CHECK = textwrap.dedent(
    f"""
    import importlib
    import pkgutil
    import sys

    import wsroute
    import wsroute.contrib

    # every module of the core, not only what the package imports eagerly
    for info in pkgutil.walk_packages(wsroute.__path__, "wsroute."):
        importlib.import_module(info.name)

    forbidden = {FORBIDDEN!r}
    leaked = sorted(
        name for name in sys.modules if name.split(".")[0].startswith(forbidden)
    )
    print("\\n".join(leaked))
    sys.exit(1 if leaked else 0)
    """
)


def test_importing_the_core_imports_no_django_channels_asgiref_or_daphne() -> None:
    # a fresh interpreter: this test process may already have Django loaded by other tests
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"the core imported: {result.stdout.split()}\n{result.stderr}"
    assert result.stdout.strip() == ""
    assert result.stderr == ""
