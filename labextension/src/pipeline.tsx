/**
 * The Pipeline sidebar: the stages of mlnb.yaml in run order with their status
 * (fresh, stale + reasons, running, failed), run-all / run-one / cancel, and
 * the live log of the running job, polled by byte offset while visible.
 *
 * All server text (stage names, reasons, log lines, yaml errors) is rendered as
 * JSX text, never as HTML.
 */
import {
  notebookIcon,
  refreshIcon,
  runIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import React, { useEffect, useRef } from 'react';

import { useModel } from './hooks';
import { pipelineIcon } from './icons';
import { PolledPanel } from './polled';
import { requestAPI } from './request';
import {
  IPipeline,
  IPipelineRun,
  IPipelineRunEvents,
  IStageStatus,
  Ids
} from './tokens';
import { eventLine, formatDuration } from './utils';

const MAX_LOG_LINES = 2000;

/** The pipeline's stages and the job this panel follows. */
export class PipelineModel {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get pipeline(): IPipeline | null {
    return this._pipeline;
  }

  get error(): string | null {
    return this._error;
  }

  get job(): IPipelineRun | null {
    return this._job;
  }

  get log(): readonly string[] {
    return this._log;
  }

  get busy(): boolean {
    return this._busy;
  }

  get jobRunning(): boolean {
    return !!this._job && this._job.returncode === null;
  }

  /** Reload: the job's new events while it runs; the stages otherwise (and at its end). */
  async refresh(): Promise<void> {
    try {
      const wasRunning = this.jobRunning;
      if (wasRunning) {
        await this._pollJob();
      }
      if (!wasRunning || !this.jobRunning || this._tick++ % 5 === 0) {
        const pipeline = await requestAPI<IPipeline>('pipeline');
        this._pipeline = pipeline;
        const running = pipeline.running;
        if (running && running.id !== this._job?.id) {
          this._follow(running);
          await this._pollJob();
        }
      }
      this._error = null;
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    }
    this._changed.emit();
  }

  /** Start a run of the given stages (all when empty). */
  async run(stages: string[], force = false): Promise<void> {
    this._busy = true;
    this._changed.emit();
    try {
      const job = await requestAPI<IPipelineRun>('pipeline/runs', {
        method: 'POST',
        body: JSON.stringify({ stages, force })
      });
      this._follow(job);
      this._error = null;
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    } finally {
      this._busy = false;
    }
    await this.refresh();
  }

  async cancel(): Promise<void> {
    const job = this._job;
    if (!job) {
      return;
    }
    try {
      this._job = await requestAPI<IPipelineRun>(
        `pipeline/runs/${encodeURIComponent(job.id)}/cancel`,
        { method: 'POST', body: '{}' }
      );
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    }
    this._changed.emit();
  }

  private _follow(job: IPipelineRun): void {
    this._job = job;
    this._offset = 0;
    this._log = [];
  }

  private async _pollJob(): Promise<void> {
    const job = this._job;
    if (!job) {
      return;
    }
    const reply = await requestAPI<IPipelineRunEvents>(
      `pipeline/runs/${encodeURIComponent(job.id)}?offset=${this._offset}`
    );
    if (this._job?.id !== job.id) {
      return; // another job was started meanwhile
    }
    const lines = reply.events
      .map(eventLine)
      .filter((l): l is string => l !== null);
    this._log = [...this._log, ...lines].slice(-MAX_LOG_LINES);
    this._offset = reply.next_offset;
    const { events, offset, next_offset, ...summary } = reply;
    void events;
    void offset;
    void next_offset;
    this._job = summary;
  }

  private _changed = new Signal<this, void>(this);
  private _pipeline: IPipeline | null = null;
  private _error: string | null = null;
  private _job: IPipelineRun | null = null;
  private _offset = 0;
  private _log: string[] = [];
  private _busy = false;
  private _tick = 0;
}

/** What the pipeline view may ask of the application. */
export interface IPipelineActions {
  /** Open a stage's notebook (project-relative path as mlnb.yaml names it). */
  openNotebook(notebook: string, projectRoot: string): void;
  /** Show a tracked run in the Experiments panel. */
  openRun(runId: string): void;
  /** Show the notebook a run executed (read-only, with its outputs). */
  openExecuted(runId: string): void;
}

/** The state shown for a stage: the running job's state wins over the stored status. */
function stageState(
  stage: IStageStatus,
  job: IPipelineRun | null
): { label: string; css: string } {
  const s = job?.stages[stage.name];
  if (s && job) {
    const live = job.returncode === null;
    if (s.state === 'running' || (live && s.state === 'queued')) {
      return { label: s.state, css: 'running' };
    }
    if (s.state === 'failed' || s.state === 'killed') {
      return { label: s.state, css: 'failed' };
    }
  }
  if (stage.status === 'fresh') {
    return { label: 'fresh', css: 'finished' };
  }
  if (stage.status === 'error') {
    return { label: 'error', css: 'failed' };
  }
  return { label: stage.status, css: 'stale' };
}

function StageItem(props: {
  stage: IStageStatus;
  model: PipelineModel;
  actions: IPipelineActions;
}): JSX.Element {
  const { stage, model, actions } = props;
  const pipeline = model.pipeline!;
  const job = model.job;
  const state = stageState(stage, job);
  const jobStage = job?.stages[stage.name];
  const runId = jobStage?.run_id ?? stage.run_id;
  return (
    <li
      className={`jp-mlnb-Stage jp-mlnb-Stage-${state.css}`}
      data-stage={stage.name}
    >
      <div className="jp-mlnb-Stage-head">
        <span className={`jp-mlnb-Status jp-mlnb-Status-${state.css} jp-mlnb-Stage-status`}>
          {state.label}
        </span>
        <span className="jp-mlnb-Stage-name">{stage.name}</span>
        <span className="jp-mlnb-Toolbar-spacer" />
        <button
          type="button"
          className="jp-mlnb-IconButton jp-Button jp-mod-minimal jp-mlnb-Stage-run"
          title={`Run ${stage.name} (and what it needs)`}
          aria-label={`Run ${stage.name}`}
          disabled={model.jobRunning || model.busy}
          onClick={() => void model.run([stage.name])}
        >
          <runIcon.react tag="span" className="jp-mlnb-IconButton-icon" />
        </button>
      </div>
      {stage.reasons.length > 0 && stage.status !== 'fresh' && (
        <ul className="jp-mlnb-Stage-reasons">
          {stage.reasons.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      )}
      {jobStage?.error && (
        <div className="jp-mlnb-Error jp-mlnb-Stage-error">{jobStage.error}</div>
      )}
      <div className="jp-mlnb-Stage-links">
        {stage.notebook && (
          <button
            type="button"
            className="jp-mlnb-Link jp-mlnb-Stage-notebook"
            title="Open the stage's notebook"
            onClick={() =>
              actions.openNotebook(stage.notebook!, pipeline.project_root)
            }
          >
            <notebookIcon.react tag="span" className="jp-mlnb-inlineIcon" />
            {stage.notebook}
          </button>
        )}
        {runId && (
          <button
            type="button"
            className="jp-mlnb-Link jp-mlnb-Stage-runLink"
            title="Show the stage's last tracked run (params, metrics, executed notebook) in Experiments"
            onClick={() => actions.openRun(runId)}
          >
            run {runId.slice(0, 8)}
          </button>
        )}
        {runId && (
          <button
            type="button"
            className="jp-mlnb-Link jp-mlnb-Stage-executed"
            title="The notebook as the stage's last run executed it, with its outputs"
            onClick={() => actions.openExecuted(runId)}
          >
            executed notebook
          </button>
        )}
        {stage.duration !== null && stage.duration !== undefined && (
          <span className="jp-mlnb-muted">{formatDuration(stage.duration)}</span>
        )}
      </div>
    </li>
  );
}

function LogView(props: { lines: readonly string[] }): JSX.Element {
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (ref.current) {
      ref.current.scrollTop = ref.current.scrollHeight;
    }
  }, [props.lines.length]);
  return (
    <pre className="jp-mlnb-Log" ref={ref}>
      {props.lines.join('\n')}
    </pre>
  );
}

export function PipelineView(props: {
  model: PipelineModel;
  actions: IPipelineActions;
}): JSX.Element {
  const { model, actions } = props;
  useModel(model);
  const pipeline = model.pipeline;
  const job = model.job;
  const running = model.jobRunning;
  return (
    <div className="jp-mlnb-Pipeline">
      <div className="jp-mlnb-Toolbar">
        <span className="jp-mlnb-Toolbar-title">Pipeline</span>
        <span className="jp-mlnb-Toolbar-spacer" />
        <button
          type="button"
          className="jp-mlnb-IconButton jp-Button jp-mod-minimal jp-mlnb-RunAll"
          title="Run every stale stage"
          aria-label="Run all"
          disabled={running || model.busy || !pipeline?.stages.length}
          onClick={() => void model.run([])}
        >
          <runIcon.react tag="span" className="jp-mlnb-IconButton-icon" />
          <span className="jp-mlnb-IconButton-text">Run all</span>
        </button>
        <button
          type="button"
          className="jp-mlnb-IconButton jp-Button jp-mod-minimal jp-mlnb-Cancel"
          title="Cancel the running pipeline (press again to kill its kernels)"
          aria-label="Cancel"
          disabled={!running}
          onClick={() => void model.cancel()}
        >
          <stopIcon.react tag="span" className="jp-mlnb-IconButton-icon" />
        </button>
        <button
          type="button"
          className="jp-mlnb-IconButton jp-Button jp-mod-minimal jp-mlnb-RefreshButton"
          title="Refresh"
          aria-label="Refresh"
          onClick={() => void model.refresh()}
        >
          <refreshIcon.react tag="span" className="jp-mlnb-IconButton-icon" />
        </button>
      </div>
      {model.error && <div className="jp-mlnb-Error">{model.error}</div>}
      {!pipeline && !model.error && <div className="jp-mlnb-muted">Loading…</div>}
      {pipeline && pipeline.spec === null && (
        <div className="jp-mlnb-Empty jp-mlnb-NoPipeline">
          No mlnb.yaml in {pipeline.project_root}. Describe the stages there (see
          `mlnb run --help`) to see and run them here.
        </div>
      )}
      {pipeline?.error && (
        <div className="jp-mlnb-SpecError">
          <div className="jp-mlnb-Error">
            {pipeline.error.line
              ? `${pipeline.spec}, line ${pipeline.error.line}: `
              : `${pipeline.spec ?? 'mlnb.yaml'}: `}
            {pipeline.error.message}
          </div>
          {(pipeline.error.problems ?? []).length > 1 && (
            <ul className="jp-mlnb-SpecError-problems">
              {pipeline.error.problems!.map((p, i) => (
                <li key={i}>
                  {p.line ? `line ${p.line}: ` : ''}
                  {p.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {pipeline && pipeline.stages.length > 0 && (
        <ol className="jp-mlnb-StageList">
          {pipeline.stages.map(stage => (
            <StageItem key={stage.name} stage={stage} model={model} actions={actions} />
          ))}
        </ol>
      )}
      {job && (
        <div className="jp-mlnb-Job" data-job-id={job.id} data-status={job.status}>
          <div className="jp-mlnb-Job-head">
            <span className={`jp-mlnb-Status jp-mlnb-Status-${job.status} jp-mlnb-Job-status`}>
              {job.status}
            </span>
            <span className="jp-mlnb-muted">
              {job.stages_requested.length
                ? job.stages_requested.join(', ')
                : 'all stages'}
              {job.cancel_requested && running ? ' — cancelling…' : ''}
            </span>
            {job.run_id && (
              <button
                type="button"
                className="jp-mlnb-Link jp-mlnb-Job-runLink"
                onClick={() => actions.openRun(job.run_id!)}
              >
                run {job.run_id.slice(0, 8)}
              </button>
            )}
          </div>
          <LogView lines={model.log} />
          {job.log_tail && <pre className="jp-mlnb-Log jp-mlnb-Log-stderr">{job.log_tail}</pre>}
        </div>
      )}
    </div>
  );
}

/** The sidebar widget: polls quickly while a job runs, slowly otherwise, never when hidden. */
export class PipelinePanel extends PolledPanel {
  constructor(options: { model: PipelineModel; actions: IPipelineActions }) {
    super({ name: 'mlnb:pipeline', interval: 5000 });
    this.id = Ids.pipelineSidebar;
    this.addClass('jp-mlnb-PipelinePanel');
    this.title.icon = pipelineIcon;
    this.title.caption = 'Pipeline (mlnb.yaml stages)';
    this.model = options.model;
    this._actions = options.actions;
    this.model.changed.connect(() => {
      // a run just started: poll at the fast rate at once
      if (this.model.jobRunning) {
        this.setPollInterval(1000);
      }
    });
  }

  readonly model: PipelineModel;

  protected async reload(): Promise<void> {
    await this.model.refresh();
    this.setPollInterval(this.model.jobRunning ? 1000 : 5000);
  }

  protected render(): JSX.Element {
    return <PipelineView model={this.model} actions={this._actions} />;
  }

  private _actions: IPipelineActions;
}
