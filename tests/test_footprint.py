"""The language server's own process stays light: heavy libraries live in the render workers.

Every module the server imports stays in its memory for the whole editing session; the fork
servers import matplotlib and cairosvg, and the critic needs only numpy and Pillow.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scipy", "skimage", "matplotlib", "cairosvg", "cairocffi", "lxml", "torch",
         "transformers")


def test_the_server_process_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from verm.lsp.server import create_server\n"
        "create_server()\n"
        "import verm.critic.diffimage\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def test_model_critics_keep_torch_out_of_the_server_process():
    """The model critics' parent side (worker client, remote client, parser, locate words,
    ensemble) imports nothing heavy: the model lives in its worker process."""
    code = (
        "import sys\n"
        "from verm.lsp.server import create_server\n"
        "from verm.critic import get_critic\n"
        "from verm.critic.model.settings import ModelSettings\n"
        "create_server()\n"
        "get_critic('model', settings=ModelSettings(model='/models/none'))\n"
        "get_critic('ensemble', settings=ModelSettings(model='/models/none'))\n"
        "get_critic('remote', settings=ModelSettings(endpoints=('http://127.0.0.1:9/v1',)))\n"
        "import verm.revise.policy, verm.critic.model.worker\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout
