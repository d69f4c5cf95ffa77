/**
 * The notebook diff view: a main-area widget with the run-diff header
 * ("lr 0.1 → 0.2, accuracy 0.91 → 0.93") and the changed cells as unified,
 * line-based source diffs (added lines green, removed red, long unchanged
 * stretches folded), plus what changed in each cell's outputs.
 *
 * The server computes the diff (mlnb.nbdiff, cells aligned by id); this view
 * only renders it, as text: cell sources are never interpreted as HTML.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { diffIcon } from './icons';
import { query, requestAPI } from './request';
import { ICellDiff, INotebookDiff } from './tokens';
import { foldLines, runDiffText } from './utils';

/** What to diff: a notebook against a reference, or the notebooks of two runs. */
export type DiffRequest =
  | {
      kind: 'path';
      path: string;
      /** HEAD, checkpoint, a git revision or run:<id>. */
      ref: string;
      /** The editor's notebook (unsaved changes included), else the file on disk. */
      content?: unknown;
    }
  | { kind: 'runs'; runA: string; runB: string };

export function fetchDiff(req: DiffRequest): Promise<INotebookDiff> {
  if (req.kind === 'runs') {
    return requestAPI<INotebookDiff>(
      `diff${query({ run_a: req.runA, run_b: req.runB })}`
    );
  }
  if (req.content !== undefined) {
    return requestAPI<INotebookDiff>('diff', {
      method: 'POST',
      body: JSON.stringify({ path: req.path, ref: req.ref, content: req.content })
    });
  }
  return requestAPI<INotebookDiff>(`diff${query({ path: req.path, ref: req.ref })}`);
}

function CellDiffView(props: { cell: ICellDiff }): JSX.Element {
  const { cell } = props;
  const added = cell.status === 'added';
  const deleted = cell.status === 'deleted';
  const lines: [string, string][] = added
    ? cell.lines.map(([, l]) => ['+', l] as [string, string])
    : deleted
      ? cell.lines.map(([, l]) => ['-', l] as [string, string])
      : cell.lines;
  const shown = cell.status === 'unchanged' || cell.status === 'moved'
    ? lines
    : foldLines(lines);
  const where =
    cell.a_index !== null && cell.b_index !== null && cell.a_index !== cell.b_index
      ? `cell ${cell.a_index + 1} → ${cell.b_index + 1}`
      : `cell ${(cell.b_index ?? cell.a_index ?? 0) + 1}`;
  return (
    <div
      className={`jp-mlnb-CellDiff jp-mlnb-CellDiff-${cell.status}`}
      data-cell-id={cell.id ?? ''}
    >
      <div className="jp-mlnb-CellDiff-head">
        <span className="jp-mlnb-CellDiff-status">{cell.status}</span>
        <span className="jp-mlnb-muted">
          {where} · {cell.cell_type}
          {cell.id ? ` · ${cell.id}` : ''}
        </span>
      </div>
      <pre className="jp-mlnb-CellDiff-source">
        {shown.map((line, i) =>
          Array.isArray(line) ? (
            <div
              key={i}
              className={`jp-mlnb-DiffLine ${line[0] === '+' ? 'jp-mlnb-DiffLine-added' : line[0] === '-' ? 'jp-mlnb-DiffLine-removed' : 'jp-mlnb-DiffLine-context'}`}
            >
              <span className="jp-mlnb-DiffLine-op">{line[0]}</span>
              {line[1] || ' '}
            </div>
          ) : (
            <div key={i} className="jp-mlnb-DiffLine jp-mlnb-DiffLine-folded">
              ⋯ {line.folded} unchanged line{line.folded === 1 ? '' : 's'}
            </div>
          )
        )}
      </pre>
      {(cell.metadata ?? []).length > 0 && (
        <div className="jp-mlnb-CellDiff-metadata">
          metadata changed: {cell.metadata!.map(m => m.key).join(', ')}
        </div>
      )}
      {(cell.outputs ?? []).length > 0 && (
        <ul className="jp-mlnb-CellDiff-outputs">
          {cell.outputs!.map((o, i) => (
            <li key={i}>
              output {o.index + 1}: {o.summary}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function DiffView(props: { request: DiffRequest }): JSX.Element {
  const [diff, setDiff] = useState<INotebookDiff | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [showAll, setShowAll] = useState(false);
  useEffect(() => {
    let live = true;
    fetchDiff(props.request)
      .then(d => live && setDiff(d))
      .catch(e => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [props.request]);

  if (error) {
    return (
      <div className="jp-mlnb-Diff">
        <div className="jp-mlnb-Error">{error}</div>
      </div>
    );
  }
  if (!diff) {
    return (
      <div className="jp-mlnb-Diff">
        <div className="jp-mlnb-muted">Computing the diff…</div>
      </div>
    );
  }
  const changed = diff.cells.filter(c => c.status !== 'unchanged');
  const cells = showAll ? diff.cells : changed;
  const counts = Object.entries(diff.counts)
    .filter(([k, n]) => n > 0 && k !== 'unchanged')
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const params = diff.runs ? runDiffText(diff.runs.params) : '';
  const metrics = diff.runs ? runDiffText(diff.runs.metrics) : '';
  return (
    <div className="jp-mlnb-Diff">
      <div className="jp-mlnb-Diff-header">
        <div className="jp-mlnb-Diff-labels">
          <span className="jp-mlnb-DiffLine-removed jp-mlnb-Diff-labelA">{diff.labels.a}</span>
          {' → '}
          <span className="jp-mlnb-DiffLine-added jp-mlnb-Diff-labelB">{diff.labels.b}</span>
        </div>
        {diff.runs && (
          <div className="jp-mlnb-RunDiff">
            <span className="jp-mlnb-muted">
              runs {diff.runs.runs[0]?.id.slice(0, 8)} → {diff.runs.runs[1]?.id.slice(0, 8)}
            </span>
            {params && <div className="jp-mlnb-RunDiff-params">{params}</div>}
            {metrics && <div className="jp-mlnb-RunDiff-metrics">{metrics}</div>}
            {!params && !metrics && (
              <div className="jp-mlnb-muted">same params and final metrics</div>
            )}
          </div>
        )}
        <div className="jp-mlnb-Diff-counts">
          {counts || 'No differences in the cells.'}
          {diff.cells.length > changed.length && (
            <label className="jp-mlnb-Diff-showAll">
              <input
                type="checkbox"
                checked={showAll}
                onChange={e => setShowAll(e.target.checked)}
              />
              show unchanged cells
            </label>
          )}
        </div>
      </div>
      <div className="jp-mlnb-Diff-cells">
        {cells.map((c, i) => (
          <CellDiffView key={`${c.id ?? ''}-${i}`} cell={c} />
        ))}
      </div>
    </div>
  );
}

class DiffContent extends ReactWidget {
  constructor(readonly request: DiffRequest) {
    super();
    this.addClass('jp-mlnb-DiffContent');
  }

  protected render(): JSX.Element {
    return <DiffView request={this.request} />;
  }
}

let counter = 0;

/** A main-area widget showing one diff. */
export function createDiffWidget(
  request: DiffRequest,
  title: string
): MainAreaWidget<DiffContent> {
  const content = new DiffContent(request);
  const widget = new MainAreaWidget({ content });
  widget.id = `mlnb-diff-${++counter}`;
  widget.addClass('jp-mlnb-DiffPanel');
  widget.title.label = title;
  widget.title.icon = diffIcon;
  widget.title.closable = true;
  return widget;
}
