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

// ---------------------------------------------------------------------------
// Pipeline (docs/pipelines.md, "REST API")

export type StageStatusKind = 'fresh' | 'stale' | 'upstream' | 'error';

/** One stage of `GET pipeline`. */
export interface IStageStatus {
  name: string;
  status: StageStatusKind | string;
  reasons: string[];
  notebook: string | null;
  group: string | null;
  upstream: string[];
  downstream: string[];
  run_id: string | null;
  last_run: string | null;
  duration: number | null;
}

/** Why mlnb.yaml could not be loaded. */
export interface IPipelineSpecError {
  message: string;
  reason: 'PipelineSpecError' | 'PipelineGraphError' | string;
  line?: number | null;
  problems?: { line: number | null; message: string }[];
  stages?: string[];
}

export type StageRunState =
  | 'queued'
  | 'fresh'
  | 'running'
  | 'finished'
  | 'restored'
  | 'failed'
  | 'killed'
  | 'not-run';

export interface IStageRunSummary {
  state: StageRunState | string;
  reasons: string[];
  run_id?: string | null;
  error?: string | null;
  duration?: number | null;
}

/** A pipeline run started by the server (RunSummary of docs/pipelines.md). */
export interface IPipelineRun {
  id: string;
  status: 'running' | 'finished' | 'failed' | 'killed' | string;
  run_id: string | null;
  stages_requested: string[];
  stages: { [name: string]: IStageRunSummary };
  returncode: number | null;
  started: number;
  ended: number | null;
  cancel_requested: boolean;
  log_tail: string;
}

/** One line of `mlnb run --format jsonl`. */
export interface IPipelineEvent {
  event: string;
  stage?: string;
  text?: string;
  status?: string;
  error?: string;
  number?: number;
  total?: number;
  duration?: number;
  reasons?: string[];
  run_id?: string;
  [key: string]: unknown;
}

/** `GET pipeline/runs/{id}?offset=N` answer. */
export interface IPipelineRunEvents extends IPipelineRun {
  events: IPipelineEvent[];
  offset: number;
  next_offset: number;
}

/** `GET pipeline` answer. */
export interface IPipeline {
  project_root: string;
  spec: string | null;
  stages: IStageStatus[];
  edges: [string, string][];
  error: IPipelineSpecError | null;
  running: IPipelineRun | null;
}

// ---------------------------------------------------------------------------
// Notebook parameters and headless executions

export interface INotebookParameter {
  name: string;
  /** The declared or inferred type, as mlnb prints it (`float`, `list[int]`, `'a' | 'b'`). */
  type: string;
  /** The default as written in the parameters cell; null when required. */
  default: string | null;
  /** The default as JSON when it is a literal. */
  value: JSONValue;
  required: boolean;
  comment: string;
}

/** `GET notebook/parameters?path=` answer. */
export interface INotebookParameters {
  path: string;
  cell: { index: number; cell_id: string | null } | null;
  syntax_error: string | null;
  parameters: INotebookParameter[];
}

/** An `mlnb exec` started by the server. */
export interface IExecution {
  id: string;
  path: string;
  parameters: { [name: string]: JSONValue };
  status: 'running' | 'finished' | 'failed' | 'killed' | string;
  returncode: number | null;
  run_id: string | null;
  cells_done: number;
  cells_total: number | null;
  started: number;
  ended: number | null;
  cancel_requested: boolean;
}

/** `GET notebook/execute/{id}?offset=N` answer. */
export interface IExecutionLog extends IExecution {
  log: string;
  offset: number;
  next_offset: number;
}

// ---------------------------------------------------------------------------
// Diff

export interface INotebookCell {
  cell_type: string;
  id?: string;
  source: string | string[];
}

export interface INotebookJSON {
  cells: INotebookCell[];
  metadata: { [key: string]: JSONValue };
}

export interface IOutputChange {
  index: number;
  op: string;
  kind: string;
  summary: string;
}

/** mlnb's per-cell view of a diff, with the source as line operations. */
export interface ICellDiff {
  status: 'added' | 'deleted' | 'modified' | 'moved' | 'unchanged' | string;
  a_index: number | null;
  b_index: number | null;
  id: string | null;
  cell_type: string;
  source?: boolean;
  outputs?: IOutputChange[];
  /** nbdime diff of the cell's metadata (volatile keys such as timings left out). */
  metadata?: { op: string; key: string }[];
  /** `[op, line]`, op one of ' ', '-', '+'. */
  lines: [string, string][];
}

export interface IRunDiffRow {
  key: string;
  a: JSONValue;
  b: JSONValue;
  changed: boolean;
}

export interface IRunDiff {
  runs: IRunSummary[];
  params: IRunDiffRow[];
  metrics: IRunDiffRow[];
}

/** `GET diff` answer. */
export interface INotebookDiff {
  base: INotebookJSON;
  remote: INotebookJSON;
  cells: ICellDiff[];
  counts: { [status: string]: number };
  labels: { a: string; b: string };
  path: string | null;
  ref: string | null;
  runs: IRunDiff | null;
}

/** A data pin as `mlnb.lock` and `metadata.mlnb.data` record it (the path is the key). */
export interface IPinRecord {
  hash: string;
  size: number;
  nfiles: number;
  kind: 'file' | 'dir' | string;
  pinned_at: string;
  note?: string | null;
}

/** One pin of a notebook with its state (`PinStatus.to_dict()` + `server_path`). */
export interface IPinState {
  /** Relative to the project root. */
  path: string;
  /** Relative to the server root; null when outside it (no buttons then). */
  server_path: string | null;
  state: 'ok' | 'modified' | 'missing' | string;
  pin: IPinRecord & { path: string };
  hash: string | null;
  added: string[];
  removed: string[];
  modified: string[];
  detail: string | null;
}

/** `GET data?notebook=` / `POST data`: the Data panel's view of one notebook. */
export interface INotebookData {
  notebook: string;
  run_id: string | null;
  pins: IPinState[];
  unpinned_reads: {
    path: string;
    server_path: string | null;
    hash: string | null;
    size: number | null;
  }[];
  project_root: string;
}

/** `POST data/pin` and the `application/vnd.mlnb.data-pins+json` display message. */
export interface IDataPins {
  notebook: string | null;
  pins: { [path: string]: IPinRecord };
}

/** `GET data/diff?path=`. */
export interface IDataDiff {
  path: string;
  old: string | null;
  new: string | null;
  kind: string;
  added: string[];
  removed: string[];
  modified: string[];
}

/** Stable ids and names used by the frontend (tests rely on them). */
export namespace Ids {
  export const plugin = 'mlnb:plugin';
  export const sidebar = 'mlnb-runs';
  export const openCommand = 'mlnb:open-experiments';
  export const refreshCommand = 'mlnb:refresh-experiments';
  export const vegaLiteMime = 'application/vnd.vegalite.v5+json';
  export const pipelineSidebar = 'mlnb-pipeline';
  export const openPipelineCommand = 'mlnb:open-pipeline';
  export const runWithParametersCommand = 'mlnb:run-with-parameters';
  export const diffHeadCommand = 'mlnb:diff-head';
  export const diffCheckpointCommand = 'mlnb:diff-checkpoint';
  export const diffRunsCommand = 'mlnb:diff-runs';
  export const openExecutedCommand = 'mlnb:open-executed-notebook';
  export const dataSidebar = 'mlnb-data';
  export const openDataCommand = 'mlnb:open-data';
  export const dataPinsMime = 'application/vnd.mlnb.data-pins+json';
}
