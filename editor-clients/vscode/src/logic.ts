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
 * selected for `*.svg` only. With `folder`, only files under it (one server per folder).
 */
export function documentSelector(folder?: string): DocumentFilter[] {
  const filters: DocumentFilter[] = [
    { scheme: 'file', language: 'python' },
    { scheme: 'file', language: 'html' },
    { scheme: 'file', language: 'markdown' },
    { scheme: 'file', language: 'svg' },
    { scheme: 'file', language: 'xml', pattern: '**/*.svg' },
  ];
  if (folder === undefined) {
    return filters;
  }
  // Multi-root: each folder's server sees that folder's files only (and its own settings).
  const root = folder.replace(/\\/g, '/').replace(/\/$/, '');
  return filters.map((f) => ({ ...f, pattern: `${root}/${f.pattern ?? '**/*'}` }));
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
 * The model and policy settings: each names a model to load, a server to send pictures of the
 * work to, or spends the GPU. Machine-scoped in the manifest, and never sent from an untrusted
 * workspace.
 */
export const MODEL_KEYS: readonly string[] = ['modelPath', 'adapter', 'quantize', 'device', 'endpoint', 'modelName',
  'apiKeyEnv', 'maxNewTokens', 'temperature', 'imageSize', 'prompts', 'idleUnload', 'trustRemoteCode',
  'remoteTimeout', 'remoteRetries', 'remoteConcurrency', 'stream', 'policy', 'policyAdapter', 'policyEndpoint',
  'policyName', 'policyApiKeyEnv', 'policyRounds', 'policyMaxNewTokens', 'policyTemperature', 'policyQuantize',
  'policyDevice', 'policyImageSize', 'policyTimeout'];

/** Client-only groups of the `verm` section: never sent to the server. */
const CLIENT_ONLY = new Set(['server', 'trace']);

/**
 * The `verm` section as the server should see it. VS Code reports every contributed setting,
 * unset ones as their default; `null` means "the config file decides" and is left out (the
 * server rejects an explicit null), as are the client-only groups and, in an untrusted
 * workspace, the model settings.
 */
export function serverSettings(section: unknown, trusted = true): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    return out;
  }
  for (const [key, value] of Object.entries(section)) {
    if (CLIENT_ONLY.has(key) || value === null || value === undefined || value === '') {
      continue;
    }
    if (!trusted && MODEL_KEYS.includes(key)) {
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

interface DiscrepancyData {
  readonly reward: number;
}

function isDiscrepancy(data: unknown): data is DiscrepancyData {
  if (typeof data !== 'object' || data === null) {
    return false;
  }
  const d = data as Record<string, unknown>;
  return d['verm'] === 'discrepancy' && typeof d['reward'] === 'number' && typeof d['severity'] === 'number';
}

/**
 * What a document's verm diagnostics (their LSP `data`) say about its judgement: the reward
 * and how many discrepancies; undefined when verm found none to report. (A document that
 * matches publishes no discrepancy: the view asks the server for its reward.)
 */
export function judgementOf(datas: readonly unknown[]): { reward: number; discrepancies: number } | undefined {
  const found = datas.filter(isDiscrepancy);
  const first = found[0];
  return first === undefined ? undefined : { reward: first.reward, discrepancies: found.length };
}
