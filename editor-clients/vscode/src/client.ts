// The language client's lifecycle: start with the configured command, restart on demand.
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type Middleware,
} from 'vscode-languageclient/node';
import * as logic from './logic';
import type { RewardStatus } from './status';

/** The `verm` section as the server should see it (see `logic.serverSettings`). */
function currentSettings(): Record<string, unknown> {
  return logic.serverSettings(vscode.workspace.getConfiguration().get(logic.SECTION));
}

function middleware(status: RewardStatus, client: () => LanguageClient | undefined): Middleware {
  return {
    handleDiagnostics(uri, diagnostics, next) {
      status.record(uri, diagnostics);
      next(uri, diagnostics);
    },
    window: {
      // The server asks for the diff PNG to be opened externally (other editors cannot show
      // images); VS Code can, beside the source.
      async showDocument(params, token, next) {
        if (!logic.opensInEditor(params)) {
          return next(params, token);
        }
        await vscode.commands.executeCommand('vscode.open', vscode.Uri.parse(params.uri), {
          viewColumn: vscode.ViewColumn.Beside,
          preserveFocus: true,
        });
        return { success: true };
      },
    },
    workspace: {
      async configuration(params, token, next) {
        const result = await next(params, token);
        if (!Array.isArray(result)) {
          return result;
        }
        return result.map((value: unknown, i) =>
          params.items[i]?.section === logic.SECTION ? logic.serverSettings(value) : value);
      },
      async didChangeConfiguration() {
        await client()?.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { [logic.SECTION]: currentSettings() },
        });
      },
    },
  };
}

export class VermClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly output: vscode.LogOutputChannel,
    private readonly status: RewardStatus,
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

  private async doStart(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const raw = vscode.workspace.getConfiguration(logic.SECTION).get<unknown>('server.command');
    const parsed = logic.parseServerCommand(raw, { workspaceFolder: folder, home: os.homedir() });
    if (!parsed.ok) {
      this.showStartError(parsed.error);
      return;
    }
    const clientOptions: LanguageClientOptions = {
      documentSelector: logic.documentSelector(),
      initializationOptions: logic.initializationOptions(vscode.workspace.isTrusted),
      synchronize: { configurationSection: logic.SECTION },
      outputChannel: this.output,
      middleware: middleware(this.status, () => this.client),
    };
    const client = new LanguageClient('verm', 'verm', logic.serverOptions(parsed.value, folder), clientOptions);
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.client = undefined;
      const cmd = [parsed.value.command, ...parsed.value.args].join(' ');
      this.showStartError(`could not start \`${cmd}\`: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.status.clear();
    if (client !== undefined && client.needsStop()) {
      await client.stop();
    }
  }

  private showStartError(message: string): void {
    this.output.error(message);
    void vscode.window.showErrorMessage(`verm: ${message}`, 'Open Settings').then((choice) => {
      if (choice !== undefined) {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'verm.server.command');
      }
    });
  }

  dispose(): void {
    void this.stop();
  }
}
