// The visual-diff view's pure half: the page from the shared viewer.html template (the one the
// static report writes too), and the server's `verm/visualDiff` answer turned into the
// viewer's data with webview URIs. No `vscode` import: `node --test` checks it.

/** The viewer's data (the contract in server/verm/viewer/__init__.py). */
export interface ViewData {
  title: string;
  reference: string;
  images: { reference: string; render: string; diff: string; width: number; height: number };
  reward: number;
  equivalent: boolean;
  rendered: boolean;
  discrepancies: ViewDiscrepancy[];
  readOnly: boolean;
}

export interface ViewDiscrepancy {
  number: number;
  index: number;
  category: string;
  severity: number;
  location: string;
  message: string;
  line: number | null;
  refBox: number[] | null;
  renderBox: number[] | null;
  fix: string | null;
}

/** `verm/visualDiff`'s result. */
export interface VisualDiffAnswer {
  uri: string;
  version: number | null;
  generation: number | null;
  state: 'judged' | 'pending' | 'problem' | 'unpinned';
  message: string | null;
  view: ViewData | null;
}

export const VISUAL_DIFF = 'verm/visualDiff';
export const STATUS = 'verm/status';

/** Messages the viewer posts. */
export type ViewerMessage =
  | { type: 'ready' }
  | { type: 'reveal'; index: number; line: number | null }
  | { type: 'fix'; index: number; line: number | null }
  | { type: 'pin' };

export function isViewerMessage(m: unknown): m is ViewerMessage {
  if (typeof m !== 'object' || m === null) {
    return false;
  }
  const r = m as Record<string, unknown>;
  switch (r['type']) {
    case 'ready':
    case 'pin':
      return true;
    case 'reveal':
    case 'fix':
      return typeof r['index'] === 'number' && (r['line'] === null || typeof r['line'] === 'number');
    default:
      return false;
  }
}

/** JSON safe inside `<script type="application/json">` (as verm.viewer.page.embed_json). */
export function embedJson(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}

/** The policy of the page (the same as viewer.js's `contentSecurityPolicy`). */
export function contentSecurityPolicy(nonce: string, source: string): string {
  return [
    "default-src 'none'",
    `img-src ${source} data:`,
    `style-src ${source}`,
    `script-src 'nonce-${nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export interface PageParts {
  readonly cspSource: string;
  readonly nonce: string;
  readonly script: string;
  readonly style: string;
  readonly data: ViewData | null;
  readonly title: string;
}

/** viewer.html with its placeholders filled in, in one pass. */
export function pageHtml(template: string, p: PageParts): string {
  const values: Record<string, string> = {
    csp: escapeHtml(contentSecurityPolicy(p.nonce, p.cspSource)),
    title: escapeHtml(`verm: ${p.title}`),
    style: escapeHtml(p.style),
    script: escapeHtml(p.script),
    nonce: escapeHtml(p.nonce),
    data: p.data === null ? '' : embedJson(p.data),
  };
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

/**
 * The view data as the webview loads it: pictures through `asUri` (a file path → a webview
 * URI), and read-only whenever the workspace is untrusted, whatever the server said.
 */
export function toWebviewData(view: ViewData, asUri: (file: string) => string, trusted: boolean): ViewData {
  return {
    ...view,
    images: {
      ...view.images,
      reference: asUri(view.images.reference),
      render: asUri(view.images.render),
      diff: asUri(view.images.diff),
    },
    readOnly: view.readOnly || !trusted,
  };
}

/** The folders holding the answer's pictures (the webview may load files from these only). */
export function pictureFolders(view: ViewData, dirname: (p: string) => string): string[] {
  return [...new Set([view.images.reference, view.images.render, view.images.diff].map(dirname))];
}

/** The verm diagnostic of discrepancy `index` (its `data.index`), among a document's diagnostics. */
export function diagnosticOf<D extends { source?: string | undefined }>(
  diagnostics: readonly D[], index: number, dataOf: (d: D) => unknown): D | undefined {
  return diagnostics.find((d) => {
    const data = dataOf(d);
    return d.source === 'verm' && typeof data === 'object' && data !== null
      && (data as Record<string, unknown>)['index'] === index;
  });
}

/** A random nonce for the page's one script. */
export function nonce(random: (n: number) => Buffer): string {
  return random(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}
