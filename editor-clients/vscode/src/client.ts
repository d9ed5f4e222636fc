// One language client for one workspace folder (or for loose files when none is open): finds
// the server (see discovery.ts), starts it, passes settings through, reports its state.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  State,
  type LanguageClientOptions,
  type Middleware,
} from 'vscode-languageclient/node';
import * as discovery from './discovery';
import * as logic from './logic';
import { activeInterpreter } from './python';
import { INITIAL, withStatus, type Phase, type ServerState } from './statusView';
import { STATUS, VISUAL_DIFF, type VisualDiffAnswer } from './webview';

export interface ClientEvents {
  /** The client's state changed (phase, `verm/status`, judgements). */
  changed(client: VermClient): void;
  /** The server published diagnostics for `uri` (a judgement, or a part of one). */
  judged(uri: vscode.Uri, diagnostics: readonly vscode.Diagnostic[]): void;
  /** The server asked to show the diff image: the view shows it instead. */
  showDiff(): void;
  /** verm is not installed where we looked. */
  missing(client: VermClient, missing: discovery.Missing): void;
}

/** The `verm` section of `folder`'s settings, as the server should see it. */
function currentSettings(folder: vscode.WorkspaceFolder | undefined): Record<string, unknown> {
  const section = vscode.workspace.getConfiguration(undefined, folder?.uri).get(logic.SECTION);
  return logic.serverSettings(section, vscode.workspace.isTrusted);
}

const PROBE_TIMEOUT_MS = 15_000;

const probes: discovery.DiscoveryProbes = {
  async isExecutable(file) {
    try {
      await fs.access(file, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  hasVerm(python) {
    return new Promise((resolve) => {
      execFile(python, ['-c', 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("verm") else 1)'],
        { timeout: PROBE_TIMEOUT_MS }, (err) => resolve(err === null));
    });
  },
};

export class VermClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  state: ServerState = INITIAL;
  /** Where the server came from, for the logs and "Install into this environment". */
  found: discovery.Found | undefined;
  readonly judgements = new Map<string, { reward: number; discrepancies: number }>();

  constructor(
    readonly folder: vscode.WorkspaceFolder | undefined,
    private readonly output: vscode.LogOutputChannel,
    private readonly events: ClientEvents,
  ) {}

  /** Start, stop and restart run one after another, never interleaved. */
  private enqueue(op: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(op).catch((err: unknown) => {
      this.output.error(`verm: ${err instanceof Error ? err.message : String(err)}`);
    });
    return this.queue;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  get running(): boolean {
    return this.client?.isRunning() ?? false;
  }

  /** Run a server command (`verm.pin`, `verm.revise`, `verm.showDiff`) on a document. */
  async execute(command: string, uri: vscode.Uri): Promise<unknown> {
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      void vscode.window.showWarningMessage('verm: the language server is not running (verm: Restart Server).');
      return undefined;
    }
    return client.sendRequest(ExecuteCommandRequest.type, {
      command,
      arguments: [client.code2ProtocolConverter.asUri(uri)],
    });
  }

  /** `verm/visualDiff` for a document (undefined: no server). */
  async visualDiff(uri: vscode.Uri): Promise<VisualDiffAnswer | undefined> {
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      return undefined;
    }
    return client.sendRequest<VisualDiffAnswer>(VISUAL_DIFF, {
      textDocument: { uri: client.code2ProtocolConverter.asUri(uri) },
    });
  }

  private setPhase(phase: Phase): void {
    this.state = { ...this.state, phase, ...(phase === 'running' ? {} : { judging: 0 }) };
    this.events.changed(this);
  }

  private async resolve(): Promise<discovery.Found | discovery.Missing> {
    const config = vscode.workspace.getConfiguration(logic.SECTION, this.folder?.uri);
    const set = config.inspect<unknown>('server.command')?.globalValue;
    let configured: logic.ServerCommand | undefined;
    if (set !== undefined) {
      const parsed = logic.parseServerCommand(set, { workspaceFolder: this.folder?.uri.fsPath, home: os.homedir() });
      if (!parsed.ok) {
        throw new Error(parsed.error);
      }
      configured = parsed.value;
    }
    return discovery.discover({
      configured,
      activeInterpreter: await activeInterpreter(this.folder?.uri),
      workspaceFolder: this.folder?.uri.fsPath,
      pathEnv: process.env['PATH'],
      platform: process.platform,
    }, probes);
  }

  private async doStart(): Promise<void> {
    this.stopping = false;
    this.setPhase('starting');
    let where: discovery.Found | discovery.Missing;
    try {
      where = await this.resolve();
    } catch (err) {
      this.setPhase('stopped');
      this.showStartError(err instanceof Error ? err.message : String(err));
      return;
    }
    if (!discovery.isFound(where)) {
      this.output.warn(`verm not found for ${this.folder?.name ?? 'loose files'}; tried ${where.tried.join(', ')}`);
      this.setPhase('missing');
      this.events.missing(this, where);
      return;
    }
    this.found = where;
    const cmd = where.command;
    this.output.info(`verm: starting \`${[cmd.command, ...cmd.args].join(' ')}\` (found via ${where.origin})`
      + (this.folder ? ` for ${this.folder.name}` : ''));
    const folderPath = this.folder?.uri.fsPath;
    const clientOptions: LanguageClientOptions = {
      documentSelector: logic.documentSelector(folderPath),
      initializationOptions: logic.initializationOptions(vscode.workspace.isTrusted),
      synchronize: { configurationSection: logic.SECTION },
      outputChannel: this.output,
      ...(this.folder === undefined ? {} : { workspaceFolder: this.folder }),
      middleware: this.middleware(),
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: () => {
          // No silent restart loop: the status item says it crashed and restarts on a click.
          if (!this.stopping) {
            this.output.error('verm: the language server stopped unexpectedly; see the log above');
          }
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
    const client = new LanguageClient('verm', 'verm', logic.serverOptions(cmd, folderPath), clientOptions);
    this.client = client;
    client.onDidChangeState((e) => {
      if (e.newState === State.Running) {
        this.setPhase('running');
      } else if (e.newState === State.Stopped && this.client === client) {
        this.setPhase(this.stopping ? 'stopped' : 'crashed');
      }
    });
    try {
      await client.start();
      client.onNotification(STATUS, (params: unknown) => {
        this.state = withStatus(this.state, params);
        this.events.changed(this);
      });
    } catch (err) {
      this.client = undefined;
      this.setPhase('crashed');
      this.showStartError(`could not start \`${[cmd.command, ...cmd.args].join(' ')}\`: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.stopping = true;
    this.client = undefined;
    this.judgements.clear();
    if (client !== undefined && client.needsStop()) {
      await client.stop();
    }
    this.setPhase('stopped');
  }

  private middleware(): Middleware {
    return {
      handleDiagnostics: (uri, diagnostics, next) => {
        const judged = logic.judgementOf(diagnostics.map(dataOf));
        if (judged === undefined) {
          this.judgements.delete(uri.toString());
        } else {
          this.judgements.set(uri.toString(), judged);
        }
        next(uri, diagnostics);
        this.events.judged(uri, diagnostics);
        this.events.changed(this);
      },
      window: {
        // "Open visual diff" asks the editor to show the diff PNG; VS Code has the live view.
        showDocument: async (params, token, next) => {
          if (!logic.opensInEditor(params)) {
            return next(params, token);
          }
          this.events.showDiff();
          return { success: true };
        },
      },
      workspace: {
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          if (!Array.isArray(result)) {
            return result;
          }
          // verm asks without a scopeUri: answer with this client's folder's settings (in a
          // multi-root workspace each folder's .vscode/settings.json), not the window's.
          return result.map((value: unknown, i) => {
            const item = params.items[i];
            if (item?.section !== logic.SECTION) {
              return value;
            }
            return item.scopeUri === undefined && this.folder !== undefined ? currentSettings(this.folder)
              : logic.serverSettings(value, vscode.workspace.isTrusted);
          });
        },
        didChangeConfiguration: async () => {
          await this.client?.sendNotification(DidChangeConfigurationNotification.type, {
            settings: { [logic.SECTION]: currentSettings(this.folder) },
          });
        },
      },
    };
  }

  private showStartError(message: string): void {
    this.output.error(message);
    void vscode.window.showErrorMessage(`verm: ${message}`, 'Show Logs', 'Open Settings').then((choice) => {
      if (choice === 'Show Logs') {
        this.output.show();
      } else if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'verm.server.command');
      }
    });
  }

  dispose(): void {
    void this.stop();
  }
}

/** `vscode-languageclient` keeps the LSP `data` on the diagnostics it converts. */
export function dataOf(diagnostic: vscode.Diagnostic): unknown {
  return (diagnostic as vscode.Diagnostic & { data?: unknown }).data;
}
