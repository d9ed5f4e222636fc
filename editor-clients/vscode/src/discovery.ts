// Where `verm serve` comes from, with no configuration: the pure half (no `vscode` import).
// Order: a `verm.server.command` the user set; the Python extension's active interpreter; the
// workspace folder's `.venv`; `verm` on PATH; else verm is missing (one message, two buttons).
import * as path from 'node:path';
import type { ServerCommand } from './logic';

export type Origin = 'setting' | 'python-extension' | 'workspace-venv' | 'path';

export interface Found {
  readonly command: ServerCommand;
  readonly origin: Origin;
  /** The interpreter verm runs in, when known (for messages and "Install into this environment"). */
  readonly python?: string;
}

export interface Missing {
  /** The interpreter that was asked and lacks verm: where "Install" would install it. */
  readonly python?: string;
  readonly tried: string[];
}

export interface DiscoveryInput {
  /** `verm.server.command`, parsed, when the user set it (not the default). */
  readonly configured?: ServerCommand | undefined;
  /** The Python extension's active interpreter for this folder (undefined: no extension). */
  readonly activeInterpreter?: string | undefined;
  readonly workspaceFolder?: string | undefined;
  /** `$PATH` (or `Path` on Windows). */
  readonly pathEnv?: string | undefined;
  readonly platform: NodeJS.Platform;
}

export interface DiscoveryProbes {
  /** Whether `python` can import verm (runs the interpreter: slow, so asked last). */
  hasVerm(python: string): Promise<boolean>;
  /** Whether `file` exists and is executable. */
  isExecutable(file: string): Promise<boolean>;
}

/** `python -m verm.cli serve`: the same server as the `verm` script, from that interpreter. */
export function pythonServer(python: string): ServerCommand {
  return { command: python, args: ['-m', 'verm.cli', 'serve'] };
}

/** The interpreter of a virtual environment folder (`.venv/bin/python`, `Scripts\python.exe`). */
export function venvPython(venv: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? path.win32.join(venv, 'Scripts', 'python.exe') : path.posix.join(venv, 'bin', 'python');
}

/** Each folder of `$PATH` with `verm` (`verm.exe`) appended. */
export function vermOnPath(pathEnv: string | undefined, platform: NodeJS.Platform): string[] {
  const sep = platform === 'win32' ? ';' : ':';
  const exe = platform === 'win32' ? 'verm.exe' : 'verm';
  const join = platform === 'win32' ? path.win32.join : path.posix.join;
  return (pathEnv ?? '').split(sep).filter((d) => d !== '').map((d) => join(d, exe));
}

/** The first place verm is, in the order above, or what was tried. */
export async function discover(input: DiscoveryInput, probes: DiscoveryProbes): Promise<Found | Missing> {
  if (input.configured !== undefined) {
    return { command: input.configured, origin: 'setting' };
  }
  const tried: string[] = [];
  let firstPython: string | undefined;
  const tryPython = async (python: string, origin: Origin): Promise<Found | undefined> => {
    tried.push(python);
    firstPython ??= python;
    if (await probes.isExecutable(python) && await probes.hasVerm(python)) {
      return { command: pythonServer(python), origin, python };
    }
    return undefined;
  };
  if (input.activeInterpreter !== undefined && input.activeInterpreter !== '') {
    const found = await tryPython(input.activeInterpreter, 'python-extension');
    if (found) {
      return found;
    }
  }
  if (input.workspaceFolder !== undefined) {
    const python = venvPython(path.join(input.workspaceFolder, '.venv'), input.platform);
    if (await probes.isExecutable(python)) {
      const found = await tryPython(python, 'workspace-venv');
      if (found) {
        return found;
      }
    }
  }
  for (const exe of vermOnPath(input.pathEnv, input.platform)) {
    if (await probes.isExecutable(exe)) {
      return { command: { command: exe, args: ['serve'] }, origin: 'path' };
    }
  }
  tried.push('verm on PATH');
  return firstPython === undefined ? { tried } : { python: firstPython, tried };
}

export function isFound(r: Found | Missing): r is Found {
  return 'command' in r;
}

/** The one message for a missing verm, and its buttons. */
export function missingMessage(m: Missing): { text: string; actions: string[] } {
  const where = m.python === undefined ? 'the active Python environment or on PATH' : `\`${m.python}\``;
  const actions = m.python === undefined ? ['Select Interpreter'] : ['Install into this environment', 'Select Interpreter'];
  return {
    text: `verm is not installed in ${where}. Install it there, pick the interpreter that has it, or set verm.server.command.`,
    actions,
  };
}

/** `python -m pip install verm` in that interpreter (run only after the user agreed). */
export function installCommand(python: string): ServerCommand {
  return { command: python, args: ['-m', 'pip', 'install', 'verm'] };
}
