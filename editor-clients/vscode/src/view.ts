// The visual-diff view: a webview beside the editor showing the shared viewer (bundled from
// server/verm/viewer at build time), following the active pinned file and refreshed on every
// judgement. Its data comes from the server's `verm/visualDiff`; its clicks come back here.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { VermClient } from './client';
import { dataOf } from './client';
import { SERVER_COMMANDS } from './logic';
import {
  diagnosticOf,
  isViewerMessage,
  nonce,
  pageHtml,
  pictureFolders,
  toWebviewData,
  type ViewData,
  type ViewerMessage,
  type VisualDiffAnswer,
} from './webview';

export class DiffView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private shown: vscode.Uri | undefined;
  /** The document whose pictures the page has loaded (later judgements are posted to it). */
  private loaded: string | undefined;
  private roots: vscode.Uri[];
  private readonly assets: vscode.Uri;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(extensionUri: vscode.Uri, private readonly clientFor: (uri: vscode.Uri) => VermClient | undefined,
    private readonly isVermDocument: (doc: vscode.TextDocument) => boolean) {
    this.assets = vscode.Uri.joinPath(extensionUri, 'dist', 'viewer');
    this.roots = [this.assets];
    this.subscriptions.push(vscode.window.onDidChangeActiveTextEditor((editor) => {
      if (this.panel !== undefined && editor !== undefined && this.isVermDocument(editor.document)) {
        void this.show(editor.document.uri, false);
      }
    }));
  }

  /** Open (or reveal) the view on `uri`. */
  async show(uri: vscode.Uri, reveal = true): Promise<void> {
    this.shown = uri;
    if (this.panel === undefined) {
      this.panel = vscode.window.createWebviewPanel('verm.visualDiff', 'verm: visual diff',
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: true, localResourceRoots: this.roots, enableFindWidget: false });
      this.panel.iconPath = vscode.Uri.joinPath(this.assets, '..', '..', 'images', 'icon.png');
      this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.loaded = undefined;
      }, null, this.subscriptions);
      this.panel.webview.onDidReceiveMessage((m: unknown) => {
        if (isViewerMessage(m)) {
          void this.onMessage(m);
        }
      }, null, this.subscriptions);
    } else if (reveal) {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    await this.refresh();
  }

  /** The server published diagnostics for `uri`: redraw if it is the one shown. */
  judged(uri: vscode.Uri): void {
    if (this.panel !== undefined && this.shown?.toString() === uri.toString()) {
      void this.refresh();
    }
  }

  private async refresh(): Promise<void> {
    const panel = this.panel;
    const uri = this.shown;
    if (panel === undefined || uri === undefined) {
      return;
    }
    const answer = await this.clientFor(uri)?.visualDiff(uri);
    if (this.panel !== panel || this.shown !== uri) {
      return; // moved on meanwhile
    }
    panel.title = `verm: ${path.basename(uri.fsPath)}`;
    const view = answer?.state === 'judged' ? answer.view : null;
    if (view !== null && this.loaded === uri.toString() && !this.widenRoots(panel.webview, view)) {
      // Same document, same folders: the page keeps its mode, zoom and scroll.
      const data = toWebviewData(view, (f) => panel.webview.asWebviewUri(vscode.Uri.file(f)).toString(),
        vscode.workspace.isTrusted);
      await panel.webview.postMessage({ type: 'data', data });
      return;
    }
    this.widenRoots(panel.webview, view);
    panel.webview.html = this.html(panel.webview, answer, path.basename(uri.fsPath));
    this.loaded = view === null ? undefined : uri.toString();
  }

  /** Let the webview load the pictures' folders; true when that changed its options. */
  private widenRoots(webview: vscode.Webview, view: ViewData | null): boolean {
    if (view === null) {
      return false;
    }
    const folders = pictureFolders(view, path.dirname).map((f) => vscode.Uri.file(f));
    if (folders.every((f) => this.roots.some((r) => r.toString() === f.toString()))) {
      return false;
    }
    this.roots = [this.assets, ...folders];
    webview.options = { ...webview.options, localResourceRoots: this.roots };
    return true;
  }

  private html(webview: vscode.Webview, answer: VisualDiffAnswer | undefined, title: string): string {
    const view = answer?.state === 'judged' ? answer.view : null;
    const template = fs.readFileSync(vscode.Uri.joinPath(this.assets, 'viewer.html').fsPath, 'utf8');
    const data = view === null ? null
      : toWebviewData(view, (f) => webview.asWebviewUri(vscode.Uri.file(f)).toString(), vscode.workspace.isTrusted);
    const page = pageHtml(template, {
      cspSource: webview.cspSource,
      nonce: nonce(randomBytes),
      script: webview.asWebviewUri(vscode.Uri.joinPath(this.assets, 'viewer.js')).toString(),
      style: webview.asWebviewUri(vscode.Uri.joinPath(this.assets, 'viewer.css')).toString(),
      data: data ?? { title, reference: '', images: { reference: '', render: '', diff: '', width: 0, height: 0 },
        reward: 0, equivalent: false, rendered: false, discrepancies: [], readOnly: true },
      title,
    });
    if (view === null) {
      // Nothing to draw: say why in place of the pictures (the viewer shows an empty list).
      const why = answer === undefined ? 'the verm language server is not running'
        : answer.message ?? (answer.state === 'pending' ? 'not judged yet: save the file' : answer.state);
      return page.replace('<main id="verm-viewer" class="verm-viewer"></main>',
        `<main id="verm-viewer" class="verm-viewer"></main><p class="verm-empty">${escape(why)}</p>`);
    }
    return page;
  }

  private async onMessage(m: ViewerMessage): Promise<void> {
    const uri = this.shown;
    if (uri === undefined) {
      return;
    }
    switch (m.type) {
      case 'reveal':
        if (m.line !== null) {
          await revealLine(uri, m.line);
        }
        return;
      case 'fix':
        await applyQuickFix(uri, m.index);
        return;
      case 'pin':
        if (!vscode.workspace.isTrusted) {
          return; // the page hides the button; a message from it is refused all the same
        }
        await this.clientFor(uri)?.execute(SERVER_COMMANDS.pin, uri);
        return;
      default:
        return;
    }
  }

  dispose(): void {
    this.panel?.dispose();
    for (const s of this.subscriptions) {
      s.dispose();
    }
  }
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function revealLine(uri: vscode.Uri, line: number): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One });
  const at = doc.lineAt(Math.min(line, doc.lineCount - 1)).range;
  editor.selection = new vscode.Selection(at.start, at.end);
  editor.revealRange(at, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

/** The quick fix the server offers for discrepancy `index`, applied. */
async function applyQuickFix(uri: vscode.Uri, index: number): Promise<void> {
  const diagnostic = diagnosticOf(vscode.languages.getDiagnostics(uri), index, dataOf);
  if (diagnostic === undefined) {
    return;
  }
  const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
    'vscode.executeCodeActionProvider', uri, diagnostic.range, vscode.CodeActionKind.QuickFix.value);
  const fix = (actions ?? []).find((a) => a.edit !== undefined && a.isPreferred
    && (a.diagnostics ?? []).some((d) => dataOf(d) !== undefined && diagnosticOf([d], index, dataOf) !== undefined));
  if (fix?.edit !== undefined) {
    await vscode.workspace.applyEdit(fix.edit);
  }
}
