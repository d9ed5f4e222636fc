// Whether verm is used here (pure): a server starts only then, so a Python or Markdown
// workspace without verm gets no process and no messages.

/** A verm pragma in a source: `# verm: reference=…`, `<!-- verm: reference=… -->`. */
const PRAGMA = /(?:#|<!--|\/\/|\/\*)\s*verm:\s*\w+\s*=/;

/** The manifest's `workspaceContains` patterns: a verm config, or a pinned reference. */
export const WORKSPACE_MARKERS = ['**/verm.toml', '**/*.ref.png', '**/pyproject.toml'] as const;

export function hasPragma(text: string): boolean {
  // Pragmas sit at the top of a file: look at the first 64 lines only (large files are cheap).
  let end = 0;
  for (let i = 0; i < 64 && end !== -1; i++) {
    end = text.indexOf('\n', end + 1);
  }
  return PRAGMA.test(end === -1 ? text : text.slice(0, end));
}

/** `[tool.verm]` (or a sub-table such as `[tool.verm.sources]`) in a pyproject.toml. */
export function hasToolVerm(pyproject: string): boolean {
  return /^\s*\[\s*tool\s*\.\s*verm\s*(?:\]|\.)/m.test(pyproject);
}

export interface WorkspaceFacts {
  /** Whether the folder holds a `verm.toml` or a `*.ref.png`. */
  readonly markerFiles: boolean;
  /** The text of each pyproject.toml found. */
  readonly pyprojects: readonly string[];
  /** The text of the documents open now. */
  readonly openTexts: readonly string[];
}

/** Why verm should start here, or undefined when it is not used. */
export function vermUsed(f: WorkspaceFacts): string | undefined {
  if (f.markerFiles) {
    return 'a verm.toml or a pinned *.ref.png';
  }
  if (f.pyprojects.some(hasToolVerm)) {
    return '[tool.verm] in pyproject.toml';
  }
  if (f.openTexts.some(hasPragma)) {
    return 'a verm pragma in an open file';
  }
  return undefined;
}
