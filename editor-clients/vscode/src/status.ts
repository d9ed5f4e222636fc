// The language status item (the `{}` in the status bar): the server's state for the active
// file's folder — starting, judging n files, loading the model, ready with the file's reward,
// crashed (click to restart). The text comes from statusView.ts.
import * as vscode from 'vscode';
import { documentSelector } from './logic';
import { statusView, type ServerState } from './statusView';

const SEVERITY = {
  information: vscode.LanguageStatusSeverity.Information,
  warning: vscode.LanguageStatusSeverity.Warning,
  error: vscode.LanguageStatusSeverity.Error,
} as const;

export class ServerStatus implements vscode.Disposable {
  private readonly item: vscode.LanguageStatusItem;

  constructor() {
    this.item = vscode.languages.createLanguageStatusItem('verm.status', documentSelector());
    this.item.name = 'verm';
  }

  show(state: ServerState): void {
    const view = statusView(state);
    this.item.text = view.text;
    this.item.detail = view.detail;
    this.item.severity = SEVERITY[view.severity];
    this.item.busy = view.busy;
    this.item.command = view.command === undefined ? undefined : { ...view.command };
  }

  dispose(): void {
    this.item.dispose();
  }
}
