// Integration: the real `verm serve` over stdio, driven the way the extension's client would
// (initialization options and settings built by `logic.ts`), on a pinned SVG whose fill changed.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  CodeActionRequest,
  ConfigurationRequest,
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidOpenTextDocumentNotification,
  ExecuteCommandRequest,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  MessageType,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShowDocumentRequest,
  ShowMessageNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgressCreateRequest,
  type Diagnostic,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type ShowDocumentParams,
  type ShowMessageParams,
  type TextDocumentEdit,
} from 'vscode-languageserver-protocol/node';
import * as logic from '../logic';
import { INITIAL, statusView, withStatus } from '../statusView';
import { STATUS, toWebviewData, VISUAL_DIFF, type VisualDiffAnswer } from '../webview';
import { defaultSection, EXTENSION_ROOT } from './helpers';

const REPO = path.resolve(EXTENSION_ROOT, '..', '..');
const PYTHON = process.env['VERM_PYTHON'] ?? path.resolve(EXTENSION_ROOT, '..', '..', '.venv', 'bin', 'python');
const FIXTURE = path.join(REPO, 'tests', 'fixtures', 'e2e', 'icon.svg');
const WAIT_MS = 60_000;

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('verm serve, as the VS Code client drives it', { timeout: 120_000 }, () => {
  let dir: string;
  let server: ChildProcessWithoutNullStreams;
  let connection: ProtocolConnection;
  let stderr = '';
  const messages: ShowMessageParams[] = [];
  const shown: ShowDocumentParams[] = [];
  const statuses: unknown[] = [];
  const published: PublishDiagnosticsParams[] = [];
  const waiters: Array<() => void> = [];
  let uri: string;

  /** Resolves with the first publication for `uri` that `pred` accepts. */
  function diagnosticsFor(pred: (p: PublishDiagnosticsParams) => boolean): Promise<PublishDiagnosticsParams> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const hit = published.find((p) => p.uri === uri && pred(p));
        if (hit !== undefined) {
          resolve(hit);
        }
        return hit !== undefined;
      };
      if (!check()) {
        waiters.push(() => void check());
      }
    });
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verm-vscode-'));
    const icon = path.join(dir, 'icon.svg');
    fs.copyFileSync(FIXTURE, icon);
    // Pin the original, then change the circle's fill: one style_error on line 2 (0-based).
    execFileSync(PYTHON, ['-m', 'verm.cli', 'pin', 'icon.svg'], { cwd: dir, stdio: 'pipe' });
    fs.writeFileSync(icon, fs.readFileSync(icon, 'utf8').replace('#5E81AC', '#D08770'));
    uri = pathToFileURL(icon).href;

    const cmd = logic.parseServerCommand([PYTHON, '-m', 'verm.cli', 'serve'], { workspaceFolder: dir, home: os.homedir() });
    assert.ok(cmd.ok);
    const options = logic.serverOptions(cmd.value, dir);
    server = spawn(options.command, options.args, {
      cwd: options.options?.cwd,
      env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') },
    });
    server.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));

    // What vscode-languageclient answers, with this extension's middleware applied.
    const section = logic.serverSettings(defaultSection(), true);
    connection.onRequest(ConfigurationRequest.type, (params) =>
      params.items.map((item) => (item.section === logic.SECTION ? section : null)));
    connection.onRequest(RegistrationRequest.type, () => undefined);
    connection.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
    connection.onRequest(ShowDocumentRequest.type, (params) => {
      shown.push(params);
      return { success: true };
    });
    connection.onNotification(ShowMessageNotification.type, (params) => { messages.push(params); });
    connection.onNotification(LogMessageNotification.type, () => undefined);
    connection.onNotification(STATUS, (params: unknown) => { statuses.push(params); });
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      published.push(params);
      waiters.splice(0).forEach((w) => w());
    });
    connection.listen();

    await within(WAIT_MS, 'initialize', connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'ws' }],
      initializationOptions: logic.initializationOptions(true),
      capabilities: {
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true }, workspaceFolders: true },
        window: { showDocument: { support: true }, workDoneProgress: true },
        textDocument: {
          publishDiagnostics: { relatedInformation: true, versionSupport: true, codeDescriptionSupport: true, dataSupport: true },
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'source'] } }, dataSupport: true },
        },
      },
    }));
    await connection.sendNotification(InitializedNotification.type, {});
    await connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { [logic.SECTION]: section } });
  });

  after(async () => {
    try {
      await within(5_000, 'shutdown', connection.sendRequest(ShutdownRequest.type));
      await connection.sendNotification(ExitNotification.type);
    } catch {
      // the process is killed below either way
    }
    connection?.dispose();
    server?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let diagnostic: Diagnostic;

  it('publishes a style_error on the changed line', async () => {
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'xml', version: 1, text: fs.readFileSync(new URL(uri), 'utf8') },
    });
    const publication = await within(WAIT_MS, `diagnostics (server stderr: ${stderr})`,
      diagnosticsFor((p) => p.diagnostics.length > 0));
    const found = publication.diagnostics.find((d) => d.code === 'style_error');
    assert.ok(found, JSON.stringify(publication.diagnostics, null, 2));
    diagnostic = found;
    assert.equal(diagnostic.source, 'verm');
    assert.equal(diagnostic.range.start.line, 2);
    assert.match(typeof diagnostic.message === 'string' ? diagnostic.message : diagnostic.message.value, /#5e81ac/i);

    const judged = logic.judgementOf(publication.diagnostics.map((d) => d.data as unknown));
    assert.ok(judged, 'the status item\'s reward from the diagnostics data');
    assert.ok(judged.reward >= 1 && judged.reward < 2 && judged.discrepancies >= 1, JSON.stringify(judged));
    const status = statusView({ ...withStatus(INITIAL, statuses.at(-1)), phase: 'running', active: judged });
    assert.match(status.text, /^verm: [12]\.\d\d$/);
    assert.ok(statuses.some((s) => (s as { judging: number }).judging >= 1), JSON.stringify(statuses));
  });

  it('offers a quick fix that restores the reference colour', async () => {
    assert.ok(diagnostic, 'needs the diagnostic from the previous test');
    const actions = await within(WAIT_MS, 'code actions', connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic] },
    }));
    assert.ok(Array.isArray(actions));
    const fixes = actions.flatMap((a) => ('edit' in a && a.edit?.documentChanges ? [a] : []));
    const fix = fixes.find((a) => a.kind === 'quickfix');
    assert.ok(fix, JSON.stringify(actions, null, 2));
    const change = fix.edit?.documentChanges?.[0] as TextDocumentEdit;
    assert.equal(change.textDocument.uri, uri);
    const edit = change.edits[0];
    assert.ok(edit && 'newText' in edit);
    assert.match(edit.newText, /#5e81ac/i);
    assert.equal(edit.range.start.line, 2);
    const titles = actions.map((a) => a.title);
    assert.ok(titles.some((t) => t.startsWith('Revise to match reference')), titles.join('\n'));
    assert.ok(titles.some((t) => t.startsWith('Pin current render as reference')), titles.join('\n'));
  });

  it('answers verm/visualDiff with what the view draws', async () => {
    const answer = await within(WAIT_MS, VISUAL_DIFF, connection.sendRequest<VisualDiffAnswer>(VISUAL_DIFF,
      { textDocument: { uri } }));
    assert.equal(answer.state, 'judged', JSON.stringify(answer));
    const view = answer.view;
    assert.ok(view);
    const hit = view.discrepancies.find((d) => d.category === 'style_error');
    assert.ok(hit && hit.line === 2 && hit.refBox && hit.renderBox, JSON.stringify(view.discrepancies));
    assert.match(hit.fix ?? '', /#5e81ac/i);
    for (const picture of [view.images.reference, view.images.render, view.images.diff]) {
      assert.ok(fs.existsSync(picture), picture);
    }
    const data = toWebviewData(view, (f) => `vscode-webview://x${f}`, false);
    assert.ok(data.images.render.startsWith('vscode-webview://x/') && data.readOnly);
  });

  it('opens the visual diff through window/showDocument', async () => {
    await within(WAIT_MS, 'verm.showDiff', connection.sendRequest(ExecuteCommandRequest.type, {
      command: logic.SERVER_COMMANDS.showDiff, arguments: [uri],
    }));
    const request = shown[0];
    assert.ok(request, 'window/showDocument was sent');
    assert.equal(request.external, true);
    assert.ok(logic.opensInEditor(request), request.uri);
    assert.ok(fs.existsSync(new URL(request.uri)), request.uri);
  });

  it('accepted the settings the extension sends without complaint', () => {
    const complaints = messages.filter((m) => m.type === MessageType.Error || m.type === MessageType.Warning);
    assert.deepEqual(complaints, []);
  });
});
