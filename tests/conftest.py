"""Every test runs as a user with no verm config of their own (tests that need one make it)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # `from support import ...` from sub-folders

# A user config on the developer's machine must not change what the tests see; VERM_CONFIG names
# a file that does not exist. Set at import, so servers and CLIs the tests start inherit it.
os.environ["VERM_CONFIG"] = os.path.join(tempfile.mkdtemp(prefix="verm-test-home-"),
                                         "config.toml")
