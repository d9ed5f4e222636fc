// Test support: just enough of the `vscode` API for the extension's activation to run under
// node (VS Code itself cannot run here). It records what the extension shows: messages, the
// language status item, registered commands. Unknown members are empty classes, so that
// vscode-languageclient loads; no test here starts a language client through it.
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';

type Listener = (e: unknown) => void;

export class FakeUri {
  readonly scheme = 'file';
  constructor(readonly fsPath: string) {}
  static file(p: string): FakeUri {
    return new FakeUri(p);
  }
  static joinPath(base: FakeUri, ...parts: string[]): FakeUri {
    return new FakeUri(path.join(base.fsPath, ...parts));
  }
  toString(): string {
    return `file://${this.fsPath}`;
  }
}

export class Emitter {
  private readonly listeners: Listener[] = [];
  readonly event = (fn: Listener): { dispose(): void } => {
    this.listeners.push(fn);
    return { dispose: () => undefined };
  };
  fire(e?: unknown): void {
    for (const fn of this.listeners) {
      fn(e);
    }
  }
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) {
      out.push(...walk(p));
    } else if (entry.isFile()) {
      out.push(p);
    }
  }
  return out;
}

/** `**\/name` and `{a,b}` globs of file names, as the extension uses them. */
function matches(glob: string, file: string): boolean {
  const names = glob.replace(/^\{|\}$/g, '').split(',').map((g) => g.replace(/^\*\*\//, ''));
  const base = path.basename(file);
  return names.some((n) => (n.startsWith('*') ? base.endsWith(n.slice(1)) : base === n));
}

export interface Shown {
  readonly kind: 'warning' | 'information' | 'error';
  readonly text: string;
  readonly actions: string[];
}

export interface PythonExtension {
  interpreter: string;
  readonly changed: Emitter;
}

/** A webview panel that keeps what the extension gives it and lets a test post as the page. */
export class FakePanel {
  readonly posted: unknown[] = [];
  readonly htmls: string[] = [];
  title = '';
  options: Record<string, unknown>;
  private readonly received = new Emitter();
  private readonly disposed = new Emitter();
  readonly webview: Record<string, unknown>;

  constructor(options: Record<string, unknown>) {
    this.options = options;
    const panel = this;
    this.webview = {
      cspSource: 'vscode-webview://fake',
      asWebviewUri: (uri: FakeUri) => ({ toString: () => `vscode-webview://fake${uri.fsPath}` }),
      onDidReceiveMessage: (fn: Listener) => panel.received.event(fn),
      postMessage: async (m: unknown) => {
        panel.posted.push(m);
        return true;
      },
      get html() {
        return panel.htmls[panel.htmls.length - 1] ?? '';
      },
      set html(v: string) {
        panel.htmls.push(v);
      },
      get options() {
        return panel.options;
      },
      set options(v: Record<string, unknown>) {
        panel.options = v;
      },
    };
  }

  /** The page posts `m` (as viewer.js would). */
  fromPage(m: unknown): void {
    this.received.fire(m);
  }

  onDidDispose(fn: Listener): { dispose(): void } {
    return this.disposed.event(fn);
  }

  reveal(): void {}

  dispose(): void {
    this.disposed.fire();
  }
}

export class FakeVscode {
  readonly shown: Shown[] = [];
  readonly panels: FakePanel[] = [];
  /** Editors the extension showed: the document's path and the selection's line. */
  readonly revealed: Array<{ path: string; line: number }> = [];
  trusted = true;
  readonly commands = new Map<string, (...args: unknown[]) => unknown>();
  readonly statusItem: Record<string, unknown> = {};
  readonly logs: string[] = [];
  readonly openTexts: Array<{ getText(): string; uri: FakeUri; languageId: string }> = [];
  python: PythonExtension | undefined;
  folder: string | undefined;

  /** The module object the extension gets for `require('vscode')`. */
  api(): Record<string, unknown> {
    const self = this;
    const event = (): ((fn: Listener) => { dispose(): void }) => new Emitter().event;
    const message = (kind: Shown['kind']) => async (text: string, ...rest: unknown[]): Promise<undefined> => {
      self.shown.push({ kind, text, actions: rest.filter((r): r is string => typeof r === 'string') });
      return undefined;
    };
    const log = (level: string) => (m: string): void => {
      self.logs.push(`${level}: ${m}`);
    };
    const known: Record<string, unknown> = {
      Uri: FakeUri,
      EventEmitter: Emitter,
      Disposable: class { constructor(private readonly fn: () => void) {} dispose(): void { this.fn(); } },
      ViewColumn: { One: 1, Beside: -2 },
      TextEditorRevealType: { InCenterIfOutsideViewport: 2 },
      CodeActionKind: { QuickFix: { value: 'quickfix' } },
      Selection: class { constructor(readonly start: { line: number }, readonly end: unknown) {} },
      LanguageStatusSeverity: { Information: 0, Warning: 1, Error: 2 },
      window: {
        createOutputChannel: () => ({ info: log('info'), warn: log('warn'), error: log('error'), trace: log('trace'),
          debug: log('debug'), appendLine: log('line'), append: log('text'), show: () => undefined,
          dispose: () => undefined }),
        onDidChangeActiveTextEditor: event(),
        onDidCloseTerminal: event(),
        activeTextEditor: undefined,
        visibleTextEditors: [],
        showWarningMessage: message('warning'),
        showInformationMessage: message('information'),
        showErrorMessage: message('error'),
        createWebviewPanel: (_type: string, _title: string, _column: unknown, options: Record<string, unknown>) => {
          const panel = new FakePanel(options);
          self.panels.push(panel);
          return panel;
        },
        showTextDocument: async (doc: { uri: FakeUri }) => {
          const editor = {
            document: doc,
            set selection(s: { start: { line: number } }) {
              self.revealed.push({ path: doc.uri.fsPath, line: s.start.line });
            },
            revealRange: () => undefined,
          };
          return editor;
        },
      },
      languages: {
        createLanguageStatusItem: () => new Proxy(self.statusItem, {
          get: (t, k) => (k === 'dispose' ? () => undefined : t[k as string]),
          set: (t, k, v) => { t[k as string] = v; return true; },
        }),
        match: () => 1,
        getDiagnostics: () => [],
      },
      commands: {
        registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
          self.commands.set(id, fn);
          return { dispose: () => self.commands.delete(id) };
        },
        executeCommand: async () => undefined,
      },
      workspace: {
        get workspaceFolders() {
          return self.folder === undefined ? undefined : [{ uri: FakeUri.file(self.folder), name: path.basename(self.folder), index: 0 }];
        },
        getWorkspaceFolder: (uri: FakeUri) =>
          (self.folder !== undefined && uri.fsPath.startsWith(self.folder)
            ? { uri: FakeUri.file(self.folder), name: path.basename(self.folder), index: 0 } : undefined),
        findFiles: async (glob: string, _exclude: unknown, max: number) =>
          (self.folder === undefined ? [] : walk(self.folder).filter((f) => matches(glob, f)).slice(0, max).map(FakeUri.file)),
        fs: { readFile: async (uri: FakeUri) => fs.readFileSync(uri.fsPath) },
        get textDocuments() {
          return self.openTexts;
        },
        getConfiguration: () => ({ get: () => undefined, inspect: () => ({}) }),
        get isTrusted() {
          return self.trusted;
        },
        openTextDocument: async (uri: FakeUri) => {
          const lines = fs.readFileSync(uri.fsPath, 'utf8').split('\n');
          return {
            uri,
            lineCount: lines.length,
            lineAt: (n: number) => ({ range: { start: { line: n, character: 0 }, end: { line: n, character: lines[n]?.length ?? 0 } } }),
          };
        },
        onDidOpenTextDocument: event(),
        onDidChangeWorkspaceFolders: event(),
        onDidGrantWorkspaceTrust: event(),
        onDidChangeConfiguration: event(),
        onDidCloseTextDocument: event(),
      },
      extensions: {
        getExtension: (id: string) => {
          const py = self.python;
          if (id !== 'ms-python.python' || py === undefined) {
            return undefined;
          }
          return {
            isActive: true,
            exports: {
              environments: {
                getActiveEnvironmentPath: () => ({ path: py.interpreter }),
                resolveEnvironment: async (env: { path: string }) => ({ executable: { uri: FakeUri.file(env.path) } }),
                onDidChangeActiveEnvironmentPath: py.changed.event,
              },
            },
          };
        },
      },
    };
    return new Proxy(known, { get: (t, k) => (k in t ? t[k as string] : class {}) });
  }
}

/** Make `require('vscode')` return `fake.api()` from now on. */
export function installFake(fake: FakeVscode): void {
  const mod = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const original = mod._load;
  const api = fake.api();
  mod._load = function load(this: unknown, request: string, ...rest: unknown[]): unknown {
    return request === 'vscode' ? api : original.call(this, request, ...rest);
  };
}
