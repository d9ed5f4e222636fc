// verm for VS Code: visual diagnostics from `verm serve` (one server per workspace folder,
// found without configuration), a live visual-diff view, and an honest status item.
import * as vscode from 'vscode';
import { VermClient } from './client';
import * as activation from './activation';
import * as discovery from './discovery';
import { documentSelector, SERVER_COMMANDS } from './logic';
import { hasPythonExtension, onInterpreterChange } from './python';
import { ServerStatus } from './status';
import { COMMANDS as STATUS_COMMANDS } from './statusView';
import { DiffView } from './view';

/** The extension's own command ids; the server's (`verm.pin`, ...) are registered by the client. */
const COMMANDS = {
  pin: 'verm.pinCurrentRender',
  revise: 'verm.reviseToMatchReference',
  showDiff: STATUS_COMMANDS.diff,
  restart: STATUS_COMMANDS.restart,
  logs: STATUS_COMMANDS.logs,
  install: STATUS_COMMANDS.install,
} as const;

const LOOSE = '';

class Extension implements vscode.Disposable {
  private readonly clients = new Map<string, VermClient>();
  private readonly output = vscode.window.createOutputChannel('verm', { log: true });
  private readonly status = new ServerStatus();
  private readonly view: DiffView;
  private readonly warned = new Set<string>();
  private started = false;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(context: vscode.ExtensionContext) {
    this.view = new DiffView(context.extensionUri, (uri) => this.clientFor(uri), isVermDocument);
    this.subscriptions.push(this.output, this.status, this.view);
  }

  /** The client of `uri`'s workspace folder (the loose-files client outside any). */
  clientFor(uri: vscode.Uri): VermClient | undefined {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    return this.clients.get(folder?.uri.toString() ?? LOOSE);
  }

  private events = {
    changed: (client: VermClient) => {
      if (client === this.activeClient()) {
        this.showStatus();
      }
    },
    judged: (uri: vscode.Uri) => this.view.judged(uri),
    showDiff: () => void this.openDiff(),
    missing: (client: VermClient, missing: discovery.Missing) => this.sayMissing(client, missing),
  };

  private activeClient(): VermClient | undefined {
    const uri = vscode.window.activeTextEditor?.document.uri;
    if (uri !== undefined) {
      return this.clientFor(uri);
    }
    return this.clients.values().next().value;
  }

  private showStatus(): void {
    const client = this.activeClient();
    if (client === undefined) {
      return;
    }
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    const active = uri === undefined ? undefined : client.judgements.get(uri);
    this.status.show({ ...client.state, active });
  }

  /** Start a server per folder, once verm is known to be used in this window. */
  async startIfUsed(): Promise<void> {
    if (this.started) {
      return;
    }
    const why = await whyVermIsUsed();
    if (why === undefined) {
      return;
    }
    this.started = true;
    this.output.info(`verm: used in this window (${why})`);
    await this.syncFolders();
  }

  async syncFolders(): Promise<void> {
    if (!this.started) {
      return;
    }
    const folders = vscode.workspace.workspaceFolders ?? [];
    const wanted = new Map<string, vscode.WorkspaceFolder | undefined>(
      folders.length === 0 ? [[LOOSE, undefined]] : folders.map((f) => [f.uri.toString(), f]));
    for (const [key, client] of this.clients) {
      if (!wanted.has(key)) {
        this.clients.delete(key);
        await client.stop();
      }
    }
    for (const [key, folder] of wanted) {
      if (!this.clients.has(key)) {
        const client = new VermClient(folder, this.output, this.events);
        this.clients.set(key, client);
        void client.start();
      }
    }
  }

  async restartAll(): Promise<void> {
    this.warned.clear();
    await Promise.all([...this.clients.values()].map((c) => c.restart()));
  }

  private sayMissing(client: VermClient, missing: discovery.Missing): void {
    const key = client.folder?.uri.toString() ?? LOOSE;
    if (this.warned.size > 0 || this.warned.has(key)) {
      return; // one message per window, not one per folder
    }
    this.warned.add(key);
    const { text, actions } = discovery.missingMessage(missing);
    const shown = hasPythonExtension() ? actions : actions.filter((a) => a !== 'Select Interpreter');
    void vscode.window.showWarningMessage(`verm: ${text}`, ...shown).then(async (choice) => {
      if (choice === 'Install into this environment' && missing.python !== undefined) {
        await this.install(missing.python);
      } else if (choice === 'Select Interpreter') {
        await vscode.commands.executeCommand('python.setInterpreter');
      }
    });
  }

  /** `python -m pip install verm`, after asking, in a terminal the user watches; then restart. */
  async install(python?: string): Promise<void> {
    const target = python ?? [...this.clients.values()].map((c) => c.found?.python).find((p) => p !== undefined);
    if (target === undefined) {
      void vscode.window.showInformationMessage('verm: pick a Python interpreter first (Python: Select Interpreter).');
      return;
    }
    const cmd = discovery.installCommand(target);
    const line = [cmd.command, ...cmd.args].map((w) => (/\s/.test(w) ? `"${w}"` : w)).join(' ');
    const ok = await vscode.window.showWarningMessage(`Install verm into ${target}?`,
      { modal: true, detail: `This runs: ${line}` }, 'Install');
    if (ok !== 'Install') {
      return;
    }
    const terminal = vscode.window.createTerminal({ name: 'verm: install' });
    terminal.show();
    terminal.sendText(`${line} && exit`);
    const done = vscode.window.onDidCloseTerminal((t) => {
      if (t === terminal) {
        done.dispose();
        void this.restartAll();
      }
    });
    this.subscriptions.push(done);
  }

  async openDiff(): Promise<void> {
    const doc = vscode.window.activeTextEditor?.document;
    if (doc === undefined || !isVermDocument(doc)) {
      void vscode.window.showInformationMessage(
        'verm: open a chart script, HTML page, SVG icon or Markdown table (saved on disk) first.');
      return;
    }
    await this.view.show(doc.uri);
  }

  onActiveDocument(serverCommand: string): () => Promise<void> {
    return async () => {
      const doc = vscode.window.activeTextEditor?.document;
      if (doc === undefined || !isVermDocument(doc)) {
        void vscode.window.showInformationMessage(
          'verm: open a chart script, HTML page, SVG icon or Markdown table (saved on disk) first.');
        return;
      }
      await this.startIfUsed();
      await this.clientFor(doc.uri)?.execute(serverCommand, doc.uri);
    };
  }

  register(): vscode.Disposable[] {
    return [
      vscode.commands.registerCommand(COMMANDS.pin, this.onActiveDocument(SERVER_COMMANDS.pin)),
      vscode.commands.registerCommand(COMMANDS.revise, this.onActiveDocument(SERVER_COMMANDS.revise)),
      vscode.commands.registerCommand(COMMANDS.showDiff, () => this.openDiff()),
      vscode.commands.registerCommand(COMMANDS.restart, async () => {
        this.started = false;
        await this.startIfUsed();
        await this.restartAll();
      }),
      vscode.commands.registerCommand(COMMANDS.logs, () => this.output.show()),
      vscode.commands.registerCommand(COMMANDS.install, () => this.install()),
      vscode.window.onDidChangeActiveTextEditor(() => this.showStatus()),
      vscode.workspace.onDidOpenTextDocument((doc) => {
        if (!this.started && isVermDocument(doc) && activation.hasPragma(doc.getText())) {
          void this.startIfUsed();
        }
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.syncFolders()),
      // Trust is an initialization option: the server learns of a grant only by restarting.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.restartAll()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('verm.server')) {
          void this.restartAll();
        }
      }),
    ];
  }

  async stop(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.stop()));
    this.clients.clear();
  }

  dispose(): void {
    void this.stop();
    for (const s of this.subscriptions) {
      s.dispose();
    }
  }

  async watchInterpreter(): Promise<vscode.Disposable> {
    return onInterpreterChange(() => {
      this.output.info('verm: the Python interpreter changed; finding verm again');
      void this.restartAll();
    });
  }
}

function isVermDocument(doc: vscode.TextDocument): boolean {
  return vscode.languages.match(documentSelector(), doc) > 0;
}

/** Why verm is used in this window (see activation.ts), or undefined. */
async function whyVermIsUsed(): Promise<string | undefined> {
  const [markers, pyprojects] = await Promise.all([
    vscode.workspace.findFiles('{**/verm.toml,**/*.ref.png}', '**/node_modules/**', 1),
    vscode.workspace.findFiles('**/pyproject.toml', '**/node_modules/**', 20),
  ]);
  const texts = await Promise.all(pyprojects.map(async (uri) => {
    try {
      return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch {
      return '';
    }
  }));
  return activation.vermUsed({
    markerFiles: markers.length > 0,
    pyprojects: texts,
    openTexts: vscode.workspace.textDocuments.filter(isVermDocument).map((d) => d.getText()),
  });
}

let extension: Extension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const ext = new Extension(context);
  extension = ext;
  context.subscriptions.push(ext, ...ext.register(), await ext.watchInterpreter());
  await ext.startIfUsed();
}

export async function deactivate(): Promise<void> {
  await extension?.stop();
  extension = undefined;
}
