// The language status item's text from the server's state (pure: `node --test` checks each
// transition). The extension feeds it client state changes, `verm/status` and diagnostics.

export type Phase = 'starting' | 'running' | 'crashed' | 'missing' | 'stopped';

export interface ModelState {
  readonly state: 'loading' | 'ready' | 'failed';
  readonly message: string;
  readonly percentage: number | null;
}

export interface ServerState {
  readonly phase: Phase;
  /** Documents being judged now (`verm/status`). */
  readonly judging: number;
  readonly model: ModelState | null;
  /** The active file's last reward and discrepancy count, when verm judged it. */
  readonly active?: { readonly reward: number; readonly discrepancies: number } | undefined;
}

export const INITIAL: ServerState = { phase: 'starting', judging: 0, model: null };

export interface StatusView {
  readonly text: string;
  readonly detail: string;
  readonly severity: 'information' | 'warning' | 'error';
  readonly busy: boolean;
  /** The command the item offers (restart after a crash, logs, the diff). */
  readonly command?: { readonly title: string; readonly command: string } | undefined;
}

export const COMMANDS = {
  restart: 'verm.restartServer',
  logs: 'verm.showLogs',
  diff: 'verm.openVisualDiff',
  install: 'verm.installServer',
} as const;

/** `verm/status`'s params, checked (anything malformed leaves the state as it was). */
export function withStatus(state: ServerState, params: unknown): ServerState {
  if (typeof params !== 'object' || params === null) {
    return state;
  }
  const p = params as { judging?: unknown; model?: unknown };
  const judging = typeof p.judging === 'number' && p.judging >= 0 ? p.judging : state.judging;
  let model = state.model;
  if (p.model === null) {
    model = null;
  } else if (typeof p.model === 'object' && p.model !== undefined) {
    const m = p.model as Record<string, unknown>;
    if (m['state'] === 'loading' || m['state'] === 'ready' || m['state'] === 'failed') {
      model = {
        state: m['state'],
        message: typeof m['message'] === 'string' ? m['message'] : '',
        percentage: typeof m['percentage'] === 'number' ? m['percentage'] : null,
      };
    }
  }
  return { ...state, judging, model };
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

export function statusView(s: ServerState): StatusView {
  switch (s.phase) {
    case 'starting':
      return { text: 'verm: starting', detail: 'starting the language server', severity: 'information', busy: true,
        command: { title: 'Show Logs', command: COMMANDS.logs } };
    case 'missing':
      return { text: 'verm: not installed', detail: 'verm was not found in this environment', severity: 'warning',
        busy: false, command: { title: 'Install…', command: COMMANDS.install } };
    case 'crashed':
      return { text: 'verm: crashed', detail: 'the language server stopped; click to restart', severity: 'error',
        busy: false, command: { title: 'Restart', command: COMMANDS.restart } };
    case 'stopped':
      return { text: 'verm: stopped', detail: 'the language server is not running', severity: 'warning',
        busy: false, command: { title: 'Restart', command: COMMANDS.restart } };
    default:
      break;
  }
  if (s.model?.state === 'loading') {
    const pct = s.model.percentage === null ? '' : ` ${s.model.percentage}%`;
    return { text: `verm: loading model${pct}`, detail: s.model.message, severity: 'information', busy: true,
      command: { title: 'Show Logs', command: COMMANDS.logs } };
  }
  if (s.judging > 0) {
    return { text: `verm: judging ${plural(s.judging, 'file')}`, detail: 'rendering and comparing with the reference',
      severity: 'information', busy: true, command: { title: 'Show Logs', command: COMMANDS.logs } };
  }
  const modelNote = s.model?.state === 'failed' ? ` (model: ${s.model.message})` : '';
  if (s.active !== undefined) {
    const reward = s.active.reward.toFixed(2);
    const found = s.active.discrepancies === 0 ? 'matches the reference'
      : plural(s.active.discrepancies, 'discrepancy', 'discrepancies');
    return { text: `verm: ${reward}`, detail: `reward ${reward} of 2.00, ${found}${modelNote}`,
      severity: s.model?.state === 'failed' ? 'warning' : 'information', busy: false,
      command: { title: 'Visual Diff', command: COMMANDS.diff } };
  }
  return { text: 'verm: ready', detail: `ready${modelNote}`, severity: s.model?.state === 'failed' ? 'warning' : 'information',
    busy: false, command: { title: 'Show Logs', command: COMMANDS.logs } };
}
