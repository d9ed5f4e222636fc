// The extension's pure logic: no `vscode` import, so `node --test` can load it as it is.
import * as path from 'node:path';

/** The configuration section the server reads (`workspace/configuration`, `didChangeConfiguration`). */
export const SECTION = 'verm';

/** The server's own commands (`workspace/executeCommand`); each takes the document URI. */
export const SERVER_COMMANDS = {
  pin: 'verm.pin',
  revise: 'verm.revise',
  showDiff: 'verm.showDiff',
} as const;

/** Structurally both a `vscode.DocumentFilter` and an LSP `TextDocumentFilter`. */
export interface DocumentFilter {
  readonly scheme: string;
  readonly language: string;
  readonly pattern?: string;
}

/**
 * The documents verm judges: chart scripts, HTML pages, SVG icons and Markdown tables on disk
 * (the server renders files next to their references; unsaved and virtual documents have none).
 * VS Code calls `.svg` files `xml` unless an extension adds an `svg` language, so `xml` is
 * selected for `*.svg` only.
 */
export function documentSelector(): DocumentFilter[] {
  return [
    { scheme: 'file', language: 'python' },
    { scheme: 'file', language: 'html' },
    { scheme: 'file', language: 'markdown' },
    { scheme: 'file', language: 'svg' },
    { scheme: 'file', language: 'xml', pattern: '**/*.svg' },
  ];
}

/** What the client sends as `initializationOptions`. */
export interface InitializationOptions {
  readonly trusted: boolean;
}

/**
 * Only workspace trust goes here. `initializationOptions` outrank `workspace/configuration` on
 * the server, so settings sent here could not be changed later without a restart.
 */
export function initializationOptions(workspaceTrusted: boolean): InitializationOptions {
  return { trusted: workspaceTrusted };
}

export interface ServerCommand {
  readonly command: string;
  readonly args: string[];
}

export interface CommandContext {
  /** The first workspace folder's path, if one is open. */
  readonly workspaceFolder?: string | undefined;
  readonly home: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Split a command line on blanks, honouring single and double quotes (no escapes). */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) {
    words.push(m[1] ?? m[2] ?? m[3] ?? '');
  }
  return words;
}

/**
 * `verm.server.command` → program and arguments. An array is the usual form; a string is split
 * on blanks. `${workspaceFolder}`, `${userHome}` and a leading `~` are expanded, and a relative
 * program path (`.venv/bin/verm`) is taken from the workspace folder.
 */
export function parseServerCommand(value: unknown, ctx: CommandContext): Parsed<ServerCommand> {
  let words: string[];
  if (typeof value === 'string') {
    words = splitCommandLine(value);
  } else if (Array.isArray(value) && value.every((w): w is string => typeof w === 'string')) {
    words = value;
  } else {
    return { ok: false, error: 'verm.server.command must be an array of strings, e.g. ["verm", "serve"]' };
  }
  if (words.length === 0 || words[0] === '') {
    return { ok: false, error: 'verm.server.command is empty: give the program first, e.g. ["verm", "serve"]' };
  }
  const expanded: string[] = [];
  for (const word of words) {
    if (word.includes('${workspaceFolder}') && ctx.workspaceFolder === undefined) {
      return { ok: false, error: `verm.server.command uses \${workspaceFolder} ("${word}") but no folder is open` };
    }
    let w = word.split('${workspaceFolder}').join(ctx.workspaceFolder ?? '');
    w = w.split('${userHome}').join(ctx.home);
    if (w === '~' || w.startsWith('~/')) {
      w = ctx.home + w.slice(1);
    }
    expanded.push(w);
  }
  let [command = '', ...args] = expanded;
  const isPath = command.includes('/') || command.includes(path.sep);
  if (isPath && !path.isAbsolute(command) && ctx.workspaceFolder !== undefined) {
    command = path.join(ctx.workspaceFolder, command);
  }
  return { ok: true, value: { command, args } };
}

/** `vscode-languageclient`'s `Executable` (stdio), with the server started in the workspace. */
export interface ExecutableOptions {
  readonly command: string;
  readonly args: string[];
  readonly options?: { readonly cwd: string };
}

export function serverOptions(cmd: ServerCommand, workspaceFolder?: string): ExecutableOptions {
  const base = { command: cmd.command, args: [...cmd.args] };
  return workspaceFolder === undefined ? base : { ...base, options: { cwd: workspaceFolder } };
}

/**
 * The `verm` section as the server should see it. VS Code reports every contributed setting,
 * unset ones as their default; `null` means "the config file decides" and is left out (the
 * server rejects an explicit null), as is the client-only `server` group.
 */
export function serverSettings(section: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    return out;
  }
  for (const [key, value] of Object.entries(section)) {
    if (key === 'server' || value === null || value === undefined || value === '') {
      continue;
    }
    out[key] = value;
  }
  return out;
}

/** `window/showDocument` for a diff image: show it in an editor tab rather than an OS viewer. */
export function opensInEditor(params: { readonly uri: string; readonly external?: boolean }): boolean {
  return params.uri.startsWith('file:') && /\.(png|jpe?g|gif|webp)$/i.test(params.uri);
}

export interface StatusText {
  readonly text: string;
  readonly tooltip: string;
  /** Whether there is a visual diff to open. */
  readonly hasDiff: boolean;
}

interface DiscrepancyData {
  readonly severity: number;
  readonly reward: number;
  readonly reference?: string;
  readonly diff?: string | null;
}

function isDiscrepancy(data: unknown): data is DiscrepancyData {
  if (typeof data !== 'object' || data === null) {
    return false;
  }
  const d = data as Record<string, unknown>;
  return d['verm'] === 'discrepancy' && typeof d['reward'] === 'number' && typeof d['severity'] === 'number';
}

function isProblem(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as Record<string, unknown>)['verm'] === 'problem';
}

const SEVERITY_WORDS: ReadonlyArray<readonly [number, string]> = [[3, 'error'], [2, 'warning'], [1, 'info']];

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/**
 * The status bar text for one document from its verm diagnostics' `data`: the reward (1..2,
 * 2 = matches) when verm found discrepancies; nothing when it has nothing to say.
 */
export function formatStatus(datas: readonly unknown[]): StatusText | undefined {
  const found = datas.filter(isDiscrepancy);
  const first = found[0];
  if (first === undefined) {
    return datas.some(isProblem)
      ? { text: '$(eye-closed) verm', tooltip: 'verm did not judge this file: see the Problems panel', hasDiff: false }
      : undefined;
  }
  const counts = SEVERITY_WORDS
    .map(([severity, word]) => [found.filter((d) => d.severity === severity).length, word] as const)
    .filter(([n]) => n > 0)
    .map(([n, word]) => plural(n, word));
  const reward = first.reward.toFixed(2);
  const against = first.reference ? ` against ${path.basename(first.reference)}` : '';
  const hasDiff = typeof first.diff === 'string' && first.diff !== '';
  return {
    text: `$(eye) verm ${reward}`,
    tooltip: `verm: reward ${reward} of 2.00 — ${plural(found.length, 'discrepancy', 'discrepancies')}`
      + ` (${counts.join(', ')})${against}${hasDiff ? '. Click to open the visual diff.' : ''}`,
    hasDiff,
  };
}
