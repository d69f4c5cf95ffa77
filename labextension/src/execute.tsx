/**
 * "Run this notebook with parameters…": a form generated from the notebook's
 * cell tagged `parameters` (name, type, default), checked here for the simple
 * types and by the server for all of them, then a headless `mlnb exec` whose
 * progress and log are followed in a main-area widget.
 */
import { Dialog, MainAreaWidget, showDialog } from '@jupyterlab/apputils';
import { ReactWidget, runIcon, stopIcon } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import React, { useState } from 'react';

import { useModel } from './hooks';
import { APIError, query, requestAPI } from './request';
import { IExecution, IExecutionLog, INotebookParameters } from './tokens';
import { checkParameter } from './utils';

/** The form inside the dialog: one row per parameter. */
class ParametersForm extends ReactWidget {
  constructor(
    readonly info: INotebookParameters,
    values: { [name: string]: string },
    readonly message: string | null,
    readonly errors: { [name: string]: string }
  ) {
    super();
    this.addClass('jp-mlnb-ParametersForm');
    this.values = { ...values };
  }

  values: { [name: string]: string };

  getValue(): { [name: string]: string } {
    return { ...this.values };
  }

  protected render(): JSX.Element {
    return (
      <ParametersFormView
        info={this.info}
        initial={this.values}
        message={this.message}
        errors={this.errors}
        onChange={(name, value) => {
          this.values[name] = value;
        }}
      />
    );
  }
}

function ParametersFormView(props: {
  info: INotebookParameters;
  initial: { [name: string]: string };
  message: string | null;
  errors: { [name: string]: string };
  onChange: (name: string, value: string) => void;
}): JSX.Element {
  const [values, setValues] = useState(props.initial);
  const { info } = props;
  // Focus goes to the first field with a problem, else the first field (set while React
  // commits the form, so it never moves under a user who already started typing).
  const focusName =
    info.parameters.find(p => props.errors[p.name])?.name ?? info.parameters[0]?.name;
  return (
    <div className="jp-mlnb-ParametersForm-body">
      <div className="jp-mlnb-muted">
        {info.path} runs headlessly in a fresh kernel (saved first) as a tracked run.
      </div>
      {props.message && <pre className="jp-mlnb-Error jp-mlnb-ParametersForm-error">{props.message}</pre>}
      {info.syntax_error && (
        <div className="jp-mlnb-Error">
          The cell tagged 'parameters' does not parse: {info.syntax_error}
        </div>
      )}
      {info.cell === null && (
        <div className="jp-mlnb-muted jp-mlnb-ParametersForm-none">
          This notebook has no cell tagged 'parameters'; it runs with its own values.
        </div>
      )}
      {info.parameters.length > 0 && (
        <table className="jp-mlnb-ParametersForm-table">
          <tbody>
            {info.parameters.map(p => {
              const error = props.errors[p.name];
              return (
                <tr key={p.name} data-param={p.name}>
                  <th>
                    <label htmlFor={`jp-mlnb-param-${p.name}`}>{p.name}</label>
                  </th>
                  <td className="jp-mlnb-ParametersForm-type">{p.type}</td>
                  <td>
                    <input
                      id={`jp-mlnb-param-${p.name}`}
                      autoFocus={p.name === focusName}
                      className={`jp-mod-styled jp-mlnb-ParametersForm-input${error ? ' jp-mlnb-mod-invalid' : ''}`}
                      name={p.name}
                      value={values[p.name] ?? ''}
                      placeholder={p.required ? 'required' : ''}
                      spellCheck={false}
                      onChange={e => {
                        const v = e.target.value;
                        setValues(old => ({ ...old, [p.name]: v }));
                        props.onChange(p.name, v);
                      }}
                    />
                    {/* not Lab's jp-mod-error: that would disable the Run button for good */}
                    {error && <div className="jp-mlnb-ParametersForm-fieldError">{error}</div>}
                    {p.comment && <div className="jp-mlnb-muted">{p.comment}</div>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

/**
 * Ask for the parameters of the notebook at `path` and start the execution.
 * Resolves to the started execution, or null when the user cancelled.
 */
export async function askAndExecute(path: string): Promise<IExecution | null> {
  const info = await requestAPI<INotebookParameters>(
    `notebook/parameters${query({ path })}`
  );
  const defaults: { [name: string]: string } = {};
  for (const p of info.parameters) {
    defaults[p.name] = p.default ?? '';
  }
  let values = { ...defaults };
  let message: string | null = null;
  let errors: { [name: string]: string } = {};
  for (;;) {
    const form = new ParametersForm(info, values, message, errors);
    const result = await showDialog({
      title: `Run ${info.path} with parameters`,
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })]
    });
    if (!result.button.accept) {
      return null;
    }
    values = result.value ?? form.getValue();
    errors = {};
    for (const p of info.parameters) {
      const error = checkParameter(p, values[p.name] ?? '');
      if (error) {
        errors[p.name] = error;
      }
    }
    if (Object.keys(errors).length) {
      message = 'Some values do not fit their parameter; fix them and run again.';
      continue;
    }
    // Only what the user changed is sent: the notebook keeps its own defaults.
    const parameters: { [name: string]: string } = {};
    for (const p of info.parameters) {
      const v = (values[p.name] ?? '').trim();
      if (v && (p.required || v !== (p.default ?? '').trim())) {
        parameters[p.name] = v;
      }
    }
    try {
      return await requestAPI<IExecution>('notebook/execute', {
        method: 'POST',
        body: JSON.stringify({ path: info.path, parameters })
      });
    } catch (error) {
      if (error instanceof APIError && error.status === 400) {
        message = error.message; // the server's problems, as text
        continue;
      }
      throw error;
    }
  }
}

/** Follows one execution: progress, log, cancel. */
export class ExecutionModel {
  constructor(execution: IExecution) {
    this._execution = execution;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get execution(): IExecution {
    return this._execution;
  }

  get log(): string {
    return this._log;
  }

  get error(): string | null {
    return this._error;
  }

  get done(): boolean {
    return this._execution.returncode !== null;
  }

  async refresh(): Promise<void> {
    try {
      const reply = await requestAPI<IExecutionLog>(
        `notebook/execute/${encodeURIComponent(this._execution.id)}?offset=${this._offset}`
      );
      const { log, offset, next_offset, ...summary } = reply;
      void offset;
      this._log = (this._log + log).slice(-200000);
      this._offset = next_offset;
      this._execution = summary;
      this._error = null;
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    }
    this._changed.emit();
  }

  async cancel(): Promise<void> {
    try {
      this._execution = await requestAPI<IExecution>(
        `notebook/execute/${encodeURIComponent(this._execution.id)}/cancel`,
        { method: 'POST', body: '{}' }
      );
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    }
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _execution: IExecution;
  private _log = '';
  private _offset = 0;
  private _error: string | null = null;
}

function ExecutionView(props: {
  model: ExecutionModel;
  openRun: (runId: string) => void;
}): JSX.Element {
  const { model } = props;
  useModel(model);
  const ex = model.execution;
  const params = Object.entries(ex.parameters);
  return (
    <div className="jp-mlnb-Execution" data-status={ex.status}>
      <div className="jp-mlnb-Toolbar">
        <span className={`jp-mlnb-Status jp-mlnb-Status-${ex.status} jp-mlnb-Execution-status`}>
          {ex.status}
        </span>
        <span className="jp-mlnb-Execution-progress">
          {ex.cells_total !== null ? `cell ${ex.cells_done}/${ex.cells_total}` : 'starting…'}
        </span>
        <span className="jp-mlnb-Toolbar-spacer" />
        {ex.run_id && (
          <button
            type="button"
            className="jp-mlnb-Link jp-mlnb-Execution-runLink"
            onClick={() => props.openRun(ex.run_id!)}
          >
            run {ex.run_id.slice(0, 8)}
          </button>
        )}
        <button
          type="button"
          className="jp-mlnb-IconButton jp-Button jp-mod-minimal jp-mlnb-Cancel"
          title="Cancel (press again to kill the kernel)"
          aria-label="Cancel"
          disabled={model.done}
          onClick={() => void model.cancel()}
        >
          <stopIcon.react tag="span" className="jp-mlnb-IconButton-icon" />
        </button>
      </div>
      <div className="jp-mlnb-Execution-params">
        {ex.path}
        {params.length
          ? ` with ${params.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')}`
          : ' with its own parameters'}
      </div>
      {model.error && <div className="jp-mlnb-Error">{model.error}</div>}
      <pre className="jp-mlnb-Log">{model.log}</pre>
    </div>
  );
}

class ExecutionContent extends ReactWidget {
  constructor(
    readonly model: ExecutionModel,
    private _openRun: (runId: string) => void
  ) {
    super();
    this.addClass('jp-mlnb-ExecutionContent');
  }

  protected render(): JSX.Element {
    return <ExecutionView model={this.model} openRun={this._openRun} />;
  }
}

/** A main-area widget following an execution until it ends (polled while visible). */
export function createExecutionWidget(
  execution: IExecution,
  openRun: (runId: string) => void
): MainAreaWidget<Widget> {
  const model = new ExecutionModel(execution);
  const content = new ExecutionContent(model, openRun);
  const widget = new MainAreaWidget({ content });
  widget.id = `mlnb-execution-${execution.id}`;
  widget.addClass('jp-mlnb-ExecutionPanel');
  widget.title.label = `Run: ${execution.path.split('/').pop()}`;
  widget.title.icon = runIcon;
  widget.title.closable = true;
  const poll = new Poll({
    factory: async () => {
      await model.refresh();
      if (model.done) {
        void poll.stop();
      }
    },
    frequency: { interval: 1000, backoff: false },
    name: 'mlnb:execution',
    standby: 'when-hidden'
  });
  widget.disposed.connect(() => poll.dispose());
  return widget;
}
