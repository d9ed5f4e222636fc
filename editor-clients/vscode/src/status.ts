// The status bar item: the active document's last reward, from its verm diagnostics' `data`.
import * as vscode from 'vscode';
import { formatStatus, type StatusText } from './logic';

export class RewardStatus implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly byUri = new Map<string, StatusText>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly openDiffCommand: string) {
    this.item = vscode.window.createStatusBarItem('verm.reward', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'verm reward';
    this.subscriptions = [
      vscode.window.onDidChangeActiveTextEditor(() => this.refresh()),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        this.byUri.delete(doc.uri.toString());
        this.refresh();
      }),
    ];
  }

  /** Called with each batch of diagnostics the server publishes for `uri`. */
  record(uri: vscode.Uri, diagnostics: readonly vscode.Diagnostic[]): void {
    const status = formatStatus(diagnostics.map(dataOf));
    if (status === undefined) {
      this.byUri.delete(uri.toString());
    } else {
      this.byUri.set(uri.toString(), status);
    }
    this.refresh();
  }

  clear(): void {
    this.byUri.clear();
    this.refresh();
  }

  private refresh(): void {
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    const status = uri === undefined ? undefined : this.byUri.get(uri);
    if (status === undefined) {
      this.item.hide();
      return;
    }
    this.item.text = status.text;
    this.item.tooltip = status.tooltip;
    this.item.command = status.hasDiff ? this.openDiffCommand : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
    for (const s of this.subscriptions) {
      s.dispose();
    }
  }
}

/** `vscode-languageclient` keeps the LSP `data` on the diagnostics it converts. */
function dataOf(diagnostic: vscode.Diagnostic): unknown {
  return (diagnostic as vscode.Diagnostic & { data?: unknown }).data;
}
