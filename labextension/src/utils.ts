/**
 * Pure helpers (no JupyterLab imports) so they can be unit-tested in node.
 */
import type {
  INotebookParameter,
  IPipelineEvent,
  IRunDiffRow,
  JSONValue
} from './tokens';

/** A sortable column of the runs table. */
export interface ISort {
  /** Filter-language key: `name`, `start_time`, ``metrics.`val/loss` ``... */
  key: string;
  desc: boolean;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The filter-language key for a params/metrics/tags entry, back-ticked when
 * the key has characters the grammar does not accept bare (`val/loss`).
 */
export function qualifiedKey(
  namespace: 'metrics' | 'params' | 'tags',
  key: string
): string {
  if (PLAIN_KEY.test(key)) {
    return `${namespace}.${key}`;
  }
  return `${namespace}.\`${key.replace(/`/g, '``')}\``;
}

/** The `order_by` value for a sort. */
export function orderByString(sort: ISort | null): string {
  if (!sort) {
    return '';
  }
  return `${sort.key} ${sort.desc ? 'DESC' : 'ASC'}`;
}

/**
 * Next sort after a click on the header of column `key`: a new column sorts
 * descending for times, numbers and metrics (newest/highest first) and
 * ascending for text; a second click flips the direction.
 */
export function toggleSort(current: ISort | null, key: string): ISort {
  if (current && current.key === key) {
    return { key, desc: !current.desc };
  }
  const textual = key === 'name' || key === 'status' || key === 'notebook';
  return { key, desc: !textual };
}

/** Format a metric or param value compactly (4 significant digits). */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      return String(value);
    }
    if (Number.isInteger(value) && Math.abs(value) < 1e9) {
      return String(value);
    }
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
      return value.toExponential(2);
    }
    return String(Number(value.toPrecision(4)));
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

/** Format a duration in seconds: `850 ms`, `12.3 s`, `3m 05s`, `1h 02m`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h ${pad(m)}m` : `${m}m ${pad(s)}s`;
}

/** Format epoch seconds as local `YYYY-MM-DD HH:MM:SS`. */
export function formatTime(epoch: number | null | undefined): string {
  if (epoch === null || epoch === undefined || !Number.isFinite(epoch)) {
    return '';
  }
  const d = new Date(epoch * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** The first non-blank line of a cell's source, shortened. */
export function firstLine(source: string | null | undefined, max = 80): string {
  if (!source) {
    return '';
  }
  const line =
    source
      .split(/\r?\n/)
      .map(l => l.trim())
      .find(l => l.length > 0) ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The text of a cell badge: `acc 0.93 · loss 0.12` (at most `max` keys). */
export function badgeText(
  metrics: { [key: string]: number } | null | undefined,
  max = 3
): string {
  if (!metrics) {
    return '';
  }
  const keys = Object.keys(metrics).sort();
  const shown = keys
    .slice(0, max)
    .map(k => `${k} ${formatValue(metrics[k])}`);
  if (keys.length > max) {
    shown.push(`+${keys.length - max}`);
  }
  return shown.join(' · ');
}

function trimSlashes(path: string): string {
  return path.replace(/\\/g, '/').replace(/\/+$/, '');
}

/**
 * Map a run's notebook (relative to the project root, or absolute when it
 * lived outside it) to a path relative to the Jupyter server root, the way
 * JupyterLab names documents. Returns null when it lies outside the server
 * root.
 */
export function notebookServerPath(
  notebook: string | null | undefined,
  projectRoot: string | null | undefined,
  serverRoot: string | null | undefined
): string | null {
  if (!notebook) {
    return null;
  }
  const nb = notebook.replace(/\\/g, '/');
  const server = serverRoot ? trimSlashes(serverRoot) : '';
  const project = projectRoot ? trimSlashes(projectRoot) : '';
  const isAbsolute = nb.startsWith('/') || /^[A-Za-z]:\//.test(nb);
  const absolute = isAbsolute
    ? nb
    : project
      ? `${project}/${nb.replace(/^\.\//, '')}`
      : null;
  if (absolute === null || !server) {
    // Without roots to compare, assume project root == server root.
    return isAbsolute ? null : nb.replace(/^\.\//, '');
  }
  if (absolute === server) {
    return null;
  }
  if (absolute.startsWith(`${server}/`)) {
    return absolute.slice(server.length + 1);
  }
  return null;
}

/** Whether two server-relative document paths name the same file. */
export function samePath(a: string, b: string): boolean {
  const norm = (p: string) => p.replace(/\\/g, '/').replace(/^\.?\/+/, '');
  return norm(a) === norm(b);
}

/**
 * A Vega-Lite (v5) spec drawing one metric's history as a line over steps
 * (or over the point index when steps were not logged).
 */
export function metricChartSpec(
  key: string,
  points: { step: number | null; value: number }[],
  width = 240
): { [key: string]: unknown } {
  const values = points.map((p, i) => ({
    step: p.step === null || p.step === undefined ? i : p.step,
    value: p.value
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    description: `History of metric ${key}`,
    width,
    height: 110,
    autosize: { type: 'fit-x', contains: 'padding' },
    background: null,
    data: { values },
    mark: { type: 'line', point: values.length <= 50, tooltip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: {
        field: 'value',
        type: 'quantitative',
        title: key,
        scale: { zero: false }
      }
    }
  };
}

// ---------------------------------------------------------------------------
// Pipeline log, parameters form, diff view

/** One event of `mlnb run --format jsonl` as a log line. */
export function eventLine(e: IPipelineEvent): string | null {
  const secs = (d: unknown) =>
    typeof d === 'number' ? ` in ${d.toFixed(2)}s` : '';
  switch (e.event) {
    case 'plan':
      return null;
    case 'pipeline-run':
      return `pipeline run ${e.run_id ?? ''}`;
    case 'stage-start':
      return `▶ ${e.stage}${e.reasons?.length ? ` (${e.reasons.join('; ')})` : ''}`;
    case 'cell':
      return `  ${e.stage}: cell ${e.number}/${e.total} ${e.status ?? ''}${secs(e.duration)}${e.error ? ` ${e.error}` : ''}`;
    case 'output':
    case 'message':
      return typeof e.text === 'string'
        ? `  ${e.stage ? `${e.stage}: ` : ''}${e.text.replace(/\n$/, '')}`
        : null;
    case 'stage-end':
      return `✓ ${e.stage} ${e.status ?? 'finished'}${secs(e.duration)}`;
    case 'stage-fresh':
      return `= ${e.stage} fresh`;
    case 'stage-restored':
      return `= ${e.stage} restored from run ${e.run_id ?? ''}`;
    case 'stage-failed':
      return `✗ ${e.stage} failed: ${e.error ?? ''}`;
    case 'stage-killed':
      return `✗ ${e.stage} killed`;
    case 'stage-not-run':
      return `- ${e.stage} not run${e.reasons?.length ? ` (${e.reasons.join('; ')})` : ''}`;
    case 'pipeline-end':
      return `pipeline ${e.status ?? ''}${secs(e.duration)}`;
    default:
      return null;
  }
}

/** A client-side check of a value typed for a parameter; null when fine (or unknown type). */
export function checkParameter(p: INotebookParameter, raw: string): string | null {
  const value = raw.trim();
  if (!value) {
    return p.required ? 'required' : null;
  }
  switch (p.type) {
    case 'int':
      return /^[+-]?\d+$/.test(value) ? null : 'must be an integer';
    case 'float':
      return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value) ||
        /^[+-]?(inf|nan)$/i.test(value)
        ? null
        : 'must be a number';
    case 'bool':
      return /^(true|false)$/i.test(value) ? null : 'must be true or false';
    default:
      return null;
  }
}

function fmtRunValue(v: JSONValue | undefined): string {
  if (v === null || v === undefined) {
    return '—';
  }
  if (typeof v === 'number') {
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** `lr 0.1 → 0.2, accuracy 0.91 → 0.93` for the rows that changed. */
export function runDiffText(rows: IRunDiffRow[]): string {
  return rows
    .filter(r => r.changed)
    .map(r => `${r.key} ${fmtRunValue(r.a)} → ${fmtRunValue(r.b)}`)
    .join(', ');
}

/** Lines to show: changes with `context` lines around them; folded runs as a count. */
export function foldLines(
  lines: [string, string][],
  context = 3
): ([string, string] | { folded: number })[] {
  const keep = new Array(lines.length).fill(false);
  lines.forEach(([op], i) => {
    if (op !== ' ') {
      for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) {
        keep[j] = true;
      }
    }
  });
  const out: ([string, string] | { folded: number })[] = [];
  let folded = 0;
  lines.forEach((line, i) => {
    if (keep[i]) {
      if (folded) {
        out.push({ folded });
        folded = 0;
      }
      out.push(line);
    } else {
      folded++;
    }
  });
  if (folded) {
    out.push({ folded });
  }
  return out;
}

