/**
 * A read-only view of the notebook a run executed (its artifact, outputs
 * included), opened from a pipeline stage or a run's detail. Outputs and
 * markdown go through the rendermime registry as UNTRUSTED models (HTML is
 * sanitized, no scripts run); without a registry everything is plain text.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { ReactWidget, notebookIcon } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';
import React, { useEffect, useRef, useState } from 'react';

import { query, requestAPI } from './request';
import { INotebookJSON } from './tokens';

interface IExecutedNotebook {
  run_id: string;
  name: string;
  notebook_path: string | null;
  notebook: INotebookJSON;
}

interface IOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: { [mime: string]: unknown };
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function joined(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join('') : (v ?? '');
}

/** One mime bundle rendered by Lab's renderers (untrusted), into a host element. */
function MimeOutput(props: {
  data: { [mime: string]: unknown };
  rendermime: IRenderMimeRegistry | null;
}): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const [fallback, setFallback] = useState<string | null>(null);
  useEffect(() => {
    const rm = props.rendermime;
    const data = props.data as ReadonlyPartialJSONObject;
    const mime = rm?.preferredMimeType(data, 'ensure');
    if (!rm || !mime || !host.current) {
      setFallback(joined(props.data['text/plain'] as string | string[] | undefined) || '[output]');
      return;
    }
    const renderer = rm.createRenderer(mime);
    const model = new MimeModel({ data, trusted: false });
    let disposed = false;
    void renderer.renderModel(model).then(() => {
      if (!disposed && host.current) {
        Widget.attach(renderer, host.current);
      }
    });
    return () => {
      disposed = true;
      renderer.dispose();
    };
  }, [props.data, props.rendermime]);
  return fallback !== null ? (
    <pre className="jp-mlnb-Executed-text">{fallback}</pre>
  ) : (
    <div className="jp-mlnb-Executed-mime" ref={host} />
  );
}

function OutputView(props: { output: IOutput; rendermime: IRenderMimeRegistry | null }): JSX.Element {
  const o = props.output;
  if (o.output_type === 'stream') {
    return (
      <pre className={`jp-mlnb-Executed-text jp-mlnb-Executed-${o.name ?? 'stdout'}`}>
        {joined(o.text)}
      </pre>
    );
  }
  if (o.output_type === 'error') {
    return (
      <pre className="jp-mlnb-Executed-text jp-mlnb-Executed-error">
        {(o.traceback ?? [`${o.ename}: ${o.evalue}`]).join('\n').replace(ANSI, '')}
      </pre>
    );
  }
  return <MimeOutput data={o.data ?? {}} rendermime={props.rendermime} />;
}

function ExecutedView(props: { runId: string; rendermime: IRenderMimeRegistry | null }): JSX.Element {
  const [nb, setNb] = useState<IExecutedNotebook | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    requestAPI<IExecutedNotebook>(`notebook/executed${query({ run_id: props.runId })}`)
      .then(setNb)
      .catch(e => setError(e instanceof Error ? e.message : String(e)));
  }, [props.runId]);
  if (error) {
    return <div className="jp-mlnb-Error">{error}</div>;
  }
  if (!nb) {
    return <div className="jp-mlnb-muted">Loading…</div>;
  }
  return (
    <div className="jp-mlnb-Executed">
      <div className="jp-mlnb-muted">
        {nb.notebook_path ?? nb.name} as run {nb.run_id.slice(0, 8)} executed it (read-only)
      </div>
      {nb.notebook.cells.map((cell, i) => {
        const c = cell as unknown as { cell_type: string; source: string | string[]; outputs?: IOutput[]; execution_count?: number | null };
        return (
          <div key={i} className={`jp-mlnb-Executed-cell jp-mlnb-Executed-${c.cell_type}`}>
            {c.cell_type === 'markdown' ? (
              <MimeOutput data={{ 'text/markdown': joined(c.source) }} rendermime={props.rendermime} />
            ) : (
              <pre className="jp-mlnb-Executed-source">
                <span className="jp-mlnb-muted">[{c.execution_count ?? ' '}] </span>
                {joined(c.source)}
              </pre>
            )}
            {(c.outputs ?? []).map((o, j) => (
              <OutputView key={j} output={o} rendermime={props.rendermime} />
            ))}
          </div>
        );
      })}
    </div>
  );
}

class ExecutedContent extends ReactWidget {
  constructor(
    readonly runId: string,
    private _rendermime: IRenderMimeRegistry | null
  ) {
    super();
    this.addClass('jp-mlnb-ExecutedContent');
  }

  protected render(): JSX.Element {
    return <ExecutedView runId={this.runId} rendermime={this._rendermime} />;
  }
}

/** A main-area widget with the executed notebook of a run. */
export function createExecutedWidget(
  runId: string,
  rendermime: IRenderMimeRegistry | null
): MainAreaWidget<ExecutedContent> {
  const widget = new MainAreaWidget({ content: new ExecutedContent(runId, rendermime) });
  widget.id = `mlnb-executed-${runId}`;
  widget.addClass('jp-mlnb-ExecutedPanel');
  widget.title.label = `Executed ${runId.slice(0, 8)}`;
  widget.title.icon = notebookIcon;
  widget.title.closable = true;
  return widget;
}
