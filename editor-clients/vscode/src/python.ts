// The Python extension's public API, when it is installed: the active interpreter of a folder
// and an event when the user picks another. Without it, discovery goes on to `.venv` and PATH.
import * as vscode from 'vscode';

interface EnvironmentPath {
  readonly path: string;
}

interface PythonApi {
  readonly environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath;
    resolveEnvironment(env: EnvironmentPath | string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    readonly onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
  readonly settings?: {
    getExecutionDetails(resource?: vscode.Uri): { execCommand: string[] | undefined };
  };
}

const PYTHON_EXTENSION = 'ms-python.python';

async function api(): Promise<PythonApi | undefined> {
  const ext = vscode.extensions.getExtension<PythonApi>(PYTHON_EXTENSION);
  if (ext === undefined) {
    return undefined;
  }
  try {
    return ext.isActive ? ext.exports : await ext.activate();
  } catch {
    return undefined;
  }
}

/** The Python extension's interpreter for `folder`, or undefined (no extension, none chosen). */
export async function activeInterpreter(folder: vscode.Uri | undefined): Promise<string | undefined> {
  const python = await api();
  if (python === undefined) {
    return undefined;
  }
  try {
    const envs = python.environments;
    if (envs !== undefined) {
      const env = await envs.resolveEnvironment(envs.getActiveEnvironmentPath(folder));
      const exe = env?.executable.uri?.fsPath;
      if (exe) {
        return exe;
      }
    }
    return python.settings?.getExecutionDetails(folder).execCommand?.[0];
  } catch {
    return undefined;
  }
}

/** Calls `listener` when the user picks another interpreter (nothing without the extension). */
export async function onInterpreterChange(listener: () => void): Promise<vscode.Disposable> {
  const python = await api();
  const event = python?.environments?.onDidChangeActiveEnvironmentPath;
  return event === undefined ? new vscode.Disposable(() => undefined) : event(() => listener());
}

export function hasPythonExtension(): boolean {
  return vscode.extensions.getExtension(PYTHON_EXTENSION) !== undefined;
}
