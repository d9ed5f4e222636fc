// verm for VS Code: visual diagnostics from `verm serve`, plus commands on the active document.
import * as vscode from 'vscode';
import { VermClient } from './client';
import { documentSelector, SERVER_COMMANDS } from './logic';
import { RewardStatus } from './status';

/** The extension's own command ids; the server's (`verm.pin`, ...) are registered by the client. */
const COMMANDS = {
  pin: 'verm.pinCurrentRender',
  revise: 'verm.reviseToMatchReference',
  showDiff: 'verm.openVisualDiff',
  restart: 'verm.restartServer',
} as const;

let verm: VermClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('verm', { log: true });
  const status = new RewardStatus(COMMANDS.showDiff);
  const client = new VermClient(output, status);
  verm = client;

  const onActiveDocument = (serverCommand: string) => async (): Promise<void> => {
    const doc = vscode.window.activeTextEditor?.document;
    if (doc === undefined || vscode.languages.match(documentSelector(), doc) === 0) {
      void vscode.window.showInformationMessage(
        'verm: open a chart script, HTML page, SVG icon or Markdown table (saved on disk) first.');
      return;
    }
    await client.execute(serverCommand, doc.uri);
  };

  context.subscriptions.push(
    output,
    status,
    client,
    vscode.commands.registerCommand(COMMANDS.pin, onActiveDocument(SERVER_COMMANDS.pin)),
    vscode.commands.registerCommand(COMMANDS.revise, onActiveDocument(SERVER_COMMANDS.revise)),
    vscode.commands.registerCommand(COMMANDS.showDiff, onActiveDocument(SERVER_COMMANDS.showDiff)),
    vscode.commands.registerCommand(COMMANDS.restart, () => client.restart()),
    // Trust is an initialization option: the server learns of a grant only by restarting.
    vscode.workspace.onDidGrantWorkspaceTrust(() => client.restart()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('verm.server')) {
        void client.restart();
      }
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await verm?.stop();
  verm = undefined;
}
