/**
 * React views of the Experiments sidebar: runs list, run detail, compare.
 *
 * Every piece of user-controlled text (run names, params, cell sources,
 * server messages) goes through JSX text nodes, never through innerHTML.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import {
  caretLeftIcon,
  deleteIcon,
  notebookIcon,
  refreshIcon
} from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { useModel } from './hooks';
import { MetricChart } from './chart';
import { diffIcon } from './icons';
import { RunsModel } from './model';
import { ICellExecution, ICompareRow, IRunDetail, IRunSummary } from './tokens';
import {
  firstLine,
  formatDuration,
  formatTime,
  formatValue,
  qualifiedKey
} from './utils';

/** What the views may ask of the application around them. */
export interface IViewActions {
  /** Server-relative path of a run's notebook, or null when not reachable. */
  notebookPath(notebook: string | null): string | null;
  openNotebook(path: string): void;
  revealCell(path: string, cellId: string): Promise<boolean>;
  /** "Compare with run…": diff this run's notebook with another run's or the current file. */
  compareWithRun?(run: IRunDetail): void;
  /** Show the notebook a run executed (its artifact), read-only. */
  openExecuted?(runId: string): void;
}

export interface IViewProps {
  model: RunsModel;
  rendermime: IRenderMimeRegistry | null;
  actions: IViewActions;
}

export function ExperimentsView(props: IViewProps): JSX.Element {
  useModel(props.model);
  const view = props.model.view;
  return (
    <div className="jp-mlnb-Experiments">
      {view.kind === 'list' && <RunsListView {...props} />}
      {view.kind === 'detail' && <RunDetailView {...props} />}
      {view.kind === 'compare' && <CompareView {...props} />}
    </div>
  );
}

// ---------------------------------------------------------------------------
// Shared bits

function IconButton(props: {
  icon: typeof refreshIcon;
  label: string;
  onClick: () => void;
  className?: string;
  disabled?: boolean;
  text?: string;
}): JSX.Element {
  return (
    <button
      type="button"
      className={`jp-mlnb-IconButton jp-Button jp-mod-minimal ${props.className ?? ''}`}
      title={props.label}
      aria-label={props.label}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <props.icon.react tag="span" className="jp-mlnb-IconButton-icon" />
      {props.text && <span className="jp-mlnb-IconButton-text">{props.text}</span>}
    </button>
  );
}

function StatusBadge(props: { status: string }): JSX.Element {
  return (
    <span className={`jp-mlnb-Status jp-mlnb-Status-${props.status}`}>
      {props.status}
    </span>
  );
}

function ErrorText(props: { message: string | null }): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <pre className="jp-mlnb-Error" role="alert">
      {props.message}
    </pre>
  );
}

function Section(props: {
  title: string;
  className?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section className={`jp-mlnb-Section ${props.className ?? ''}`}>
      <h3 className="jp-mlnb-Section-title">{props.title}</h3>
      {props.children}
    </section>
  );
}

// ---------------------------------------------------------------------------
// Runs list

interface IColumn {
  id: string;
  label: string;
  /** Filter-language key to sort by. */
  sortKey: string;
  className: string;
  render(run: IRunSummary): React.ReactNode;
}

function runColumns(metricKeys: string[]): IColumn[] {
  const columns: IColumn[] = [
    {
      id: 'name',
      label: 'Name',
      sortKey: 'name',
      className: 'jp-mlnb-col-name',
      render: run => run.name || run.id.slice(0, 8)
    },
    {
      id: 'status',
      label: 'Status',
      sortKey: 'status',
      className: 'jp-mlnb-col-status',
      render: run => <StatusBadge status={run.status} />
    }
  ];
  // The chosen metrics come early: in a narrow sidebar they matter most.
  for (const key of metricKeys) {
    columns.push({
      id: `metric:${key}`,
      label: key,
      sortKey: qualifiedKey('metrics', key),
      className: 'jp-mlnb-col-metric',
      render: run => formatValue(run.metrics?.[key])
    });
  }
  columns.push(
    {
      id: 'started',
      label: 'Started',
      sortKey: 'start_time',
      className: 'jp-mlnb-col-started',
      render: run => formatTime(run.start_time)
    },
    {
      id: 'duration',
      label: 'Duration',
      sortKey: 'duration',
      className: 'jp-mlnb-col-duration',
      render: run => formatDuration(run.duration)
    },
    {
      id: 'notebook',
      label: 'Notebook',
      sortKey: 'notebook',
      className: 'jp-mlnb-col-notebook',
      render: run => run.notebook ?? ''
    }
  );
  return columns;
}

function FilterBox(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  const [text, setText] = useState(model.filter);
  const apply = () => void model.setFilter(text);
  return (
    <div className="jp-mlnb-FilterBox">
      <div className="jp-mlnb-FilterBox-row">
        <input
          className="jp-mlnb-FilterBox-input jp-mod-styled"
          type="search"
          spellCheck={false}
          aria-label="Filter runs"
          placeholder="metrics.acc > 0.9 and params.lr = '0.1'"
          value={text}
          onChange={event => setText(event.target.value)}
          onKeyDown={event => {
            if (event.key === 'Enter') {
              apply();
            } else if (event.key === 'Escape') {
              setText('');
              void model.setFilter('');
            }
          }}
        />
        <button
          type="button"
          className="jp-mlnb-FilterBox-apply jp-Button jp-mod-styled jp-mod-reject"
          onClick={apply}
        >
          Filter
        </button>
      </div>
      {model.filterError && (
        <pre className="jp-mlnb-FilterError" role="alert">
          {model.filterError}
        </pre>
      )}
    </div>
  );
}

function MetricPicker(props: { model: RunsModel }): JSX.Element | null {
  const { model } = props;
  const keys = model.list?.metric_keys ?? [];
  if (keys.length === 0) {
    return null;
  }
  const shown = new Set(model.metricColumns);
  return (
    <details className="jp-mlnb-MetricPicker">
      <summary title="Choose the metric columns">Metrics ({shown.size})</summary>
      <div className="jp-mlnb-MetricPicker-menu">
        {keys.map(key => (
          <label key={key} className="jp-mlnb-MetricPicker-item">
            <input
              type="checkbox"
              checked={shown.has(key)}
              onChange={event => model.setMetricColumn(key, event.target.checked)}
            />
            <span>{key}</span>
          </label>
        ))}
      </div>
    </details>
  );
}

function RunsListView(props: IViewProps): JSX.Element {
  const { model } = props;
  const list = model.list;
  const columns = runColumns(model.metricColumns);
  const sort = model.sort;
  const selected = model.selected;
  const total = list?.total ?? 0;
  const first = total === 0 ? 0 : model.offset + 1;
  const last = Math.min(model.offset + model.limit, total);

  return (
    <div className="jp-mlnb-RunsList">
      <div className="jp-mlnb-Toolbar">
        <span className="jp-mlnb-Toolbar-title">Experiments</span>
        <span className="jp-mlnb-Toolbar-spacer" />
        <button
          type="button"
          className="jp-mlnb-CompareButton jp-Button jp-mod-styled jp-mod-accept"
          disabled={selected.size < 2}
          title="Select two or more runs to compare"
          onClick={() => void model.openCompare()}
        >
          Compare{selected.size ? ` (${selected.size})` : ''}
        </button>
        <IconButton
          icon={refreshIcon}
          label="Refresh runs"
          className="jp-mlnb-RefreshButton"
          onClick={() => void model.refresh()}
        />
      </div>
      <FilterBox model={model} />
      <div className="jp-mlnb-ListControls">
        <MetricPicker model={model} />
        {model.loading && <span className="jp-mlnb-muted">Loading…</span>}
      </div>
      <ErrorText message={model.error} />
      <div className="jp-mlnb-TableScroller">
        <table
          className={`jp-mlnb-RunsTable${model.filterError ? ' jp-mlnb-stale' : ''}`}
          title={model.filterError ? 'Showing the last valid filter' : undefined}
        >
          <thead>
            <tr>
              <th className="jp-mlnb-col-select" aria-label="Select" />
              {columns.map(column => {
                const active = sort?.key === column.sortKey;
                return (
                  <th
                    key={column.id}
                    className={`${column.className} jp-mlnb-sortable${active ? ' jp-mlnb-sorted' : ''}`}
                    data-sort-key={column.sortKey}
                    aria-sort={
                      active ? (sort!.desc ? 'descending' : 'ascending') : 'none'
                    }
                    title={`Sort by ${column.label}`}
                    onClick={() => void model.sortBy(column.sortKey)}
                  >
                    {column.label}
                    {active && (
                      <span className="jp-mlnb-sortMark">{sort!.desc ? ' ▼' : ' ▲'}</span>
                    )}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {(list?.runs ?? []).map(run => (
              <tr
                key={run.id}
                className={`jp-mlnb-RunRow${selected.has(run.id) ? ' jp-mod-selected' : ''}`}
                data-run-id={run.id}
              >
                <td className="jp-mlnb-col-select">
                  <input
                    type="checkbox"
                    aria-label={`Select run ${run.name || run.id}`}
                    checked={selected.has(run.id)}
                    onChange={event => model.setSelected(run.id, event.target.checked)}
                  />
                </td>
                {columns.map(column => (
                  <td
                    key={column.id}
                    className={column.className}
                    onClick={
                      column.id === 'name' ? () => void model.openRun(run.id) : undefined
                    }
                    title={column.id === 'name' ? `Open run ${run.id}` : undefined}
                  >
                    {column.render(run)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {list && list.runs.length === 0 && (
          <div className="jp-mlnb-Empty">
            {model.filter
              ? 'No run matches this filter.'
              : 'No runs yet. Run a notebook whose first cell is %load_ext mlnb.'}
          </div>
        )}
      </div>
      <div className="jp-mlnb-Pager">
        <button
          type="button"
          className="jp-mlnb-Pager-prev jp-Button jp-mod-minimal"
          disabled={model.offset === 0}
          onClick={() => void model.setPage(model.offset - model.limit)}
        >
          ‹ Prev
        </button>
        <span className="jp-mlnb-Pager-range">
          {first}–{last} of {total}
        </span>
        <button
          type="button"
          className="jp-mlnb-Pager-next jp-Button jp-mod-minimal"
          disabled={last >= total}
          onClick={() => void model.setPage(model.offset + model.limit)}
        >
          Next ›
        </button>
      </div>
    </div>
  );
}

// ---------------------------------------------------------------------------
// Run detail

function KeyValueTable(props: {
  rows: [string, unknown][];
  className: string;
  empty: string;
}): JSX.Element {
  if (props.rows.length === 0) {
    return <div className="jp-mlnb-muted">{props.empty}</div>;
  }
  return (
    <table className={`jp-mlnb-KeyValue ${props.className}`}>
      <tbody>
        {props.rows.map(([key, value]) => (
          <tr key={key} data-key={key}>
            <th>{key}</th>
            <td>{formatValue(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function CellExecutionItem(props: {
  exec: ICellExecution;
  notebookPath: string | null;
  actions: IViewActions;
}): JSX.Element {
  const { exec, notebookPath, actions } = props;
  const [missing, setMissing] = useState(false);
  const canReveal = !!(notebookPath && exec.cell_id);
  const metrics = Object.entries(exec.metrics ?? {}).sort(([a], [b]) =>
    a.localeCompare(b)
  );
  return (
    <li
      className={`jp-mlnb-CellExecution jp-mlnb-CellExecution-${exec.status}`}
      data-cell-id={exec.cell_id ?? ''}
    >
      <button
        type="button"
        className="jp-mlnb-CellExecution-button"
        disabled={!canReveal}
        title={canReveal ? 'Show this cell in its notebook' : 'The cell id was not recorded'}
        onClick={async () => {
          if (notebookPath && exec.cell_id) {
            setMissing(!(await actions.revealCell(notebookPath, exec.cell_id)));
          }
        }}
      >
        <span className="jp-mlnb-CellExecution-count">
          [{exec.execution_count ?? ' '}]
        </span>
        <span className={`jp-mlnb-CellExecution-status jp-mlnb-Status-${exec.status}`}>
          {exec.status}
        </span>
        <code className="jp-mlnb-CellExecution-source">{firstLine(exec.source)}</code>
        <span className="jp-mlnb-CellExecution-duration">
          {formatDuration(exec.duration)}
        </span>
      </button>
      {metrics.length > 0 && (
        <div className="jp-mlnb-CellExecution-metrics">
          {metrics.map(([k, v]) => `${k} ${formatValue(v)}`).join(' · ')}
        </div>
      )}
      {exec.status === 'error' && (exec.error_name || exec.error_message) && (
        <div className="jp-mlnb-Error">
          {[exec.error_name, exec.error_message].filter(Boolean).join(': ')}
        </div>
      )}
      {missing && (
        <div className="jp-mlnb-muted">That cell is no longer in the notebook.</div>
      )}
    </li>
  );
}

function RunDetailView(props: IViewProps): JSX.Element {
  const { model, actions, rendermime } = props;
  const view = model.view;
  const runId = view.kind === 'detail' ? view.runId : '';
  const run: IRunDetail | null = model.detail?.id === runId ? model.detail : null;
  const notebookPath = run ? actions.notebookPath(run.notebook) : null;

  const onDelete = async () => {
    if (!run) {
      return;
    }
    const result = await showDialog({
      title: 'Delete run',
      body: `Delete run "${run.name || run.id}" (${run.id}) with its metrics and artifacts? This cannot be undone.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (result.button.accept) {
      try {
        await model.deleteRun(run.id);
      } catch (error) {
        await showDialog({
          title: 'Could not delete the run',
          body: error instanceof Error ? error.message : String(error),
          buttons: [Dialog.okButton()]
        });
      }
    }
  };

  return (
    <div className="jp-mlnb-RunDetail" data-run-id={runId}>
      <div className="jp-mlnb-Toolbar">
        <IconButton
          icon={caretLeftIcon}
          label="Back to all runs"
          className="jp-mlnb-BackButton"
          text="Runs"
          onClick={() => void model.showList()}
        />
        <span className="jp-mlnb-Toolbar-spacer" />
        {actions.compareWithRun && (
          <IconButton
            icon={diffIcon}
            label="Compare with run… (diff the notebooks, with the run diff)"
            className="jp-mlnb-CompareWithRun"
            text="Diff"
            disabled={!run}
            onClick={() => run && actions.compareWithRun!(run)}
          />
        )}
        <IconButton
          icon={refreshIcon}
          label="Refresh"
          className="jp-mlnb-RefreshButton"
          onClick={() => void model.refresh()}
        />
        <IconButton
          icon={deleteIcon}
          label="Delete this run"
          className="jp-mlnb-DeleteButton"
          disabled={!run}
          onClick={() => void onDelete()}
        />
      </div>
      <ErrorText message={model.error} />
      {!run && !model.error && <div className="jp-mlnb-muted">Loading…</div>}
      {run && (
        <div className="jp-mlnb-RunDetail-body">
          <h2 className="jp-mlnb-RunDetail-name">{run.name || run.id}</h2>
          <div className="jp-mlnb-RunDetail-meta">
            <StatusBadge status={run.status} />
            <span className="jp-mlnb-RunDetail-id" title="Run id">
              {run.id}
            </span>
          </div>
          <table className="jp-mlnb-KeyValue jp-mlnb-RunDetail-info">
            <tbody>
              <tr>
                <th>Notebook</th>
                <td>
                  {notebookPath ? (
                    <button
                      type="button"
                      className="jp-mlnb-Link jp-mlnb-OpenNotebook"
                      onClick={() => actions.openNotebook(notebookPath)}
                    >
                      <notebookIcon.react tag="span" className="jp-mlnb-inlineIcon" />
                      {run.notebook}
                    </button>
                  ) : (
                    run.notebook ?? ''
                  )}
                </td>
              </tr>
              <tr>
                <th>Started</th>
                <td>{formatTime(run.start_time)}</td>
              </tr>
              <tr>
                <th>Duration</th>
                <td>{formatDuration(run.duration)}</td>
              </tr>
              {run.experiment && (
                <tr>
                  <th>Experiment</th>
                  <td>{run.experiment}</td>
                </tr>
              )}
              {run.git_commit && (
                <tr>
                  <th>Git</th>
                  <td>
                    {run.git_commit.slice(0, 10)}
                    {run.git_dirty ? ' (dirty)' : ''}
                  </td>
                </tr>
              )}
              {(run.user || run.host) && (
                <tr>
                  <th>Where</th>
                  <td>{[run.user, run.host].filter(Boolean).join('@')}</td>
                </tr>
              )}
            </tbody>
          </table>

          <Section title="Params" className="jp-mlnb-Params">
            <KeyValueTable
              className="jp-mlnb-ParamsTable"
              rows={Object.entries(run.params ?? {})}
              empty="No params logged."
            />
          </Section>

          {Object.keys(run.tags ?? {}).length > 0 && (
            <Section title="Tags" className="jp-mlnb-Tags">
              <KeyValueTable
                className="jp-mlnb-TagsTable"
                rows={Object.entries(run.tags)}
                empty=""
              />
            </Section>
          )}

          <Section title="Metrics" className="jp-mlnb-Metrics">
            {Object.keys(run.metrics_summary ?? {}).length === 0 && (
              <div className="jp-mlnb-muted">No metrics logged.</div>
            )}
            {Object.entries(run.metrics_summary ?? {}).map(([key, summary]) => (
              <div className="jp-mlnb-MetricSummary" data-metric={key} key={key}>
                <div className="jp-mlnb-MetricSummary-head">
                  <span className="jp-mlnb-MetricSummary-key">{key}</span>
                  <span className="jp-mlnb-MetricSummary-values">
                    last {formatValue(summary.last)} · min {formatValue(summary.min)} · max{' '}
                    {formatValue(summary.max)} · {summary.count} pt
                    {summary.count === 1 ? '' : 's'}
                  </span>
                </div>
                <MetricChart
                  runId={run.id}
                  metricKey={key}
                  version={summary.count}
                  rendermime={rendermime}
                  load={(id, k) => model.metricHistory(id, k)}
                />
              </div>
            ))}
          </Section>

          <Section title="Cell executions" className="jp-mlnb-CellExecutions">
            {(run.cell_executions ?? []).length === 0 ? (
              <div className="jp-mlnb-muted">No cell executions recorded.</div>
            ) : (
              <ol className="jp-mlnb-CellExecutionList">
                {run.cell_executions.map(exec => (
                  <CellExecutionItem
                    key={String(exec.id)}
                    exec={exec}
                    notebookPath={notebookPath}
                    actions={actions}
                  />
                ))}
              </ol>
            )}
          </Section>

          {(run.artifacts ?? []).length > 0 && (
            <Section title="Artifacts" className="jp-mlnb-Artifacts">
              <ul className="jp-mlnb-ArtifactList">
                {run.artifacts.map(a => (
                  <li key={a.path}>
                    {actions.openExecuted &&
                    a.path === run.tags?.['mlnb.executed_notebook'] ? (
                      <button
                        type="button"
                        className="jp-mlnb-Link jp-mlnb-OpenExecuted"
                        title="Show the notebook as this run executed it"
                        onClick={() => actions.openExecuted!(run.id)}
                      >
                        <notebookIcon.react tag="span" className="jp-mlnb-inlineIcon" />
                        {a.path}
                      </button>
                    ) : (
                      <code>{a.path}</code>
                    )}
                    {a.size !== null && a.size !== undefined && (
                      <span className="jp-mlnb-muted"> {a.size} B</span>
                    )}
                  </li>
                ))}
              </ul>
            </Section>
          )}
        </div>
      )}
    </div>
  );
}

// ---------------------------------------------------------------------------
// Compare

function CompareRows(props: {
  title: string;
  rows: { [key: string]: ICompareRow };
  width: number;
}): JSX.Element {
  const keys = Object.keys(props.rows).sort();
  return (
    <>
      <tr className="jp-mlnb-CompareTable-section">
        <th colSpan={props.width + 1}>{props.title}</th>
      </tr>
      {keys.length === 0 && (
        <tr>
          <td className="jp-mlnb-muted" colSpan={props.width + 1}>
            none
          </td>
        </tr>
      )}
      {keys.map(key => {
        const row = props.rows[key];
        return (
          <tr
            key={key}
            data-key={key}
            className={row.differs ? 'jp-mlnb-CompareRow jp-mlnb-differs' : 'jp-mlnb-CompareRow'}
          >
            <th>{key}</th>
            {row.values.map((value, i) => (
              <td key={i}>{value === null || value === undefined ? '—' : formatValue(value)}</td>
            ))}
          </tr>
        );
      })}
    </>
  );
}

function CompareView(props: IViewProps): JSX.Element {
  const { model } = props;
  const compare = model.comparison;
  return (
    <div className="jp-mlnb-Compare">
      <div className="jp-mlnb-Toolbar">
        <IconButton
          icon={caretLeftIcon}
          label="Back to all runs"
          className="jp-mlnb-BackButton"
          text="Runs"
          onClick={() => void model.showList()}
        />
        <span className="jp-mlnb-Toolbar-title">Compare</span>
        <span className="jp-mlnb-Toolbar-spacer" />
        <IconButton
          icon={refreshIcon}
          label="Refresh"
          className="jp-mlnb-RefreshButton"
          onClick={() => void model.refresh()}
        />
      </div>
      <ErrorText message={model.error} />
      {!compare && !model.error && <div className="jp-mlnb-muted">Loading…</div>}
      {compare && (
        <div className="jp-mlnb-TableScroller">
          <table className="jp-mlnb-CompareTable">
            <thead>
              <tr>
                <th />
                {compare.runs.map(run => (
                  <th key={run.id} data-run-id={run.id} title={run.id}>
                    <button
                      type="button"
                      className="jp-mlnb-Link"
                      onClick={() => void model.openRun(run.id)}
                    >
                      {run.name || run.id.slice(0, 8)}
                    </button>
                    <div className="jp-mlnb-Compare-runId">{run.id.slice(0, 8)}</div>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              <CompareRows title="Params" rows={compare.params} width={compare.runs.length} />
              <CompareRows title="Metrics" rows={compare.metrics} width={compare.runs.length} />
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
