/**
 * Shapes of the mlnb REST API (docs/design/contracts.md) and the ids shared
 * by the frontend. Keep in step with the contract: these are the only types
 * the widgets see.
 */

/** A JSON value as stored for params. */
export type JSONValue =
  | string
  | number
  | boolean
  | null
  | JSONValue[]
  | { [key: string]: JSONValue };

export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';

/** `Run.to_dict()`: one row of the runs table. */
export interface IRunSummary {
  id: string;
  name: string;
  experiment: string | null;
  status: RunStatus | string;
  notebook: string | null;
  git_commit: string | null;
  git_dirty: boolean | null;
  user: string | null;
  host: string | null;
  python: string | null;
  /** Epoch seconds. */
  start_time: number;
  /** Epoch seconds, null while running. */
  end_time: number | null;
  /** Seconds, null while running. */
  duration: number | null;
  parent_id: string | null;
  params: { [key: string]: JSONValue };
  tags: { [key: string]: string };
  /** Latest value per metric key. */
  metrics: { [key: string]: number };
}

/** `GET runs` answer. */
export interface IRunList {
  runs: IRunSummary[];
  total: number;
  offset: number;
  limit: number;
  metric_keys: string[];
}

export interface IMetricSummary {
  last: number;
  min: number;
  max: number;
  count: number;
  step: number | null;
  timestamp: number | null;
}

export type CellExecutionStatus = 'running' | 'ok' | 'error';

export interface ICellExecution {
  id: string | number;
  cell_id: string | null;
  execution_count: number | null;
  source_hash: string | null;
  source: string | null;
  start_time: number | null;
  duration: number | null;
  status: CellExecutionStatus | string;
  error_name: string | null;
  error_message: string | null;
  metrics: { [key: string]: number };
  params: { [key: string]: JSONValue };
}

export interface IArtifact {
  path: string;
  hash: string | null;
  size: number | null;
  cell_execution_id: string | number | null;
}

/** `GET runs/{id}` answer. */
export interface IRunDetail extends IRunSummary {
  packages: { [name: string]: string };
  metrics_summary: { [key: string]: IMetricSummary };
  cell_executions: ICellExecution[];
  artifacts: IArtifact[];
}

export interface IMetricPoint {
  step: number | null;
  value: number;
  timestamp: number | null;
}

/** `GET runs/{id}/metrics/{key}` answer. */
export interface IMetricHistory {
  run_id: string;
  key: string;
  points: IMetricPoint[];
}

export interface ICompareRow {
  values: (JSONValue | undefined)[];
  differs: boolean;
}

/** `GET compare?ids=` answer. */
export interface ICompare {
  runs: IRunSummary[];
  params: { [key: string]: ICompareRow };
  metrics: { [key: string]: ICompareRow };
}

export interface ICellRecord {
  run_id: string;
  cell_execution_id: string | number;
  execution_count: number | null;
  status: CellExecutionStatus | string;
  start_time: number | null;
  duration: number | null;
  metrics: { [key: string]: number };
}

/** `GET cells?notebook=` answer: the last execution of each cell. */
export interface ICells {
  notebook: string;
  cells: { [cellId: string]: ICellRecord };
}

/** `GET status` answer. */
export interface IServerStatus {
  version: string;
  project_root: string;
  /** The server's real root folder (PageConfig's serverRoot abbreviates $HOME to ~). */
  server_root?: string;
  store_url: string;
}

/** The error body every mlnb endpoint answers with. */
export interface IErrorBody {
  message: string;
  reason?: string;
}

/** Stable ids and names used by the frontend (tests rely on them). */
export namespace Ids {
  export const plugin = 'mlnb:plugin';
  export const sidebar = 'mlnb-runs';
  export const openCommand = 'mlnb:open-experiments';
  export const refreshCommand = 'mlnb:refresh-experiments';
  export const vegaLiteMime = 'application/vnd.vegalite.v5+json';
}
