/**
 * The Data sidebar (`mlnb-data`): the current notebook's data pins with their
 * state (ok / drifted / missing), the unpinned files its last run read, and the
 * buttons pin, re-pin, check out (after a confirm dialog) and "What changed".
 *
 * Pins reach the notebook through its open model (`metadata.mlnb.data`), never
 * by the server writing the .ipynb file, so JupyterLab shows no "file changed on
 * disk" dialog: the panel merges what `POST data/pin` answers, and
 * `followPinMessages` merges the `application/vnd.mlnb.data-pins+json` display
 * messages `%mlnb pin` publishes from the notebook's kernel.
 *
 * All server text is rendered as JSX text, never as HTML.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { KernelMessage } from '@jupyterlab/services';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { refreshIcon } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import React from 'react';

import { useModel } from './hooks';
import { dataIcon } from './dataicon';
import { PolledPanel } from './polled';
import { requestAPI } from './request';
import {
  IDataDiff,
  IDataPins,
  INotebookData,
  IPinRecord,
  IPinState,
  Ids
} from './tokens';

type PinMap = { [path: string]: IPinRecord };

/** The pins the open notebook model holds (`metadata.mlnb.data`). */
export function modelPins(panel: NotebookPanel): PinMap {
  const mlnb = panel.content.model?.getMetadata('mlnb') as
    | { data?: PinMap }
    | undefined;
  const data = mlnb && typeof mlnb === 'object' ? mlnb.data : undefined;
  return data && typeof data === 'object' ? { ...data } : {};
}

/** Merge pins into the open notebook model's `metadata.mlnb.data` (marks it dirty). */
export function mergePins(panel: NotebookPanel, pins: PinMap): void {
  const model = panel.content.model;
  if (!model || !Object.keys(pins).length) {
    return;
  }
  const current = model.getMetadata('mlnb');
  const mlnb =
    current && typeof current === 'object' && !Array.isArray(current)
      ? { ...(current as { [key: string]: unknown }) }
      : {};
  mlnb['data'] = { ...modelPins(panel), ...pins };
  model.setMetadata('mlnb', mlnb);
}

/**
 * Merge the pins `%mlnb pin` publishes (display data of the data-pins MIME
 * type on the notebook's kernel) into that notebook's open model.
 */
export function followPinMessages(tracker: INotebookTracker): void {
  const follow = (panel: NotebookPanel) => {
    const slot = (_: unknown, msg: KernelMessage.IMessage) => {
      const type = msg.header.msg_type;
      if (
        type !== 'display_data' &&
        type !== 'execute_result' &&
        type !== 'update_display_data'
      ) {
        return;
      }
      const data = (msg.content as { data?: { [mime: string]: unknown } })
        .data;
      const message = data?.[Ids.dataPinsMime] as IDataPins | undefined;
      if (message && message.pins && typeof message.pins === 'object') {
        mergePins(panel, message.pins);
      }
    };
    panel.sessionContext.iopubMessage.connect(slot);
    panel.disposed.connect(() =>
      panel.sessionContext.iopubMessage.disconnect(slot)
    );
  };
  tracker.forEach(follow);
  tracker.widgetAdded.connect((_, panel) => follow(panel));
}

/** The state the panel shows: the current notebook's data, errors, open diffs. */
export class DataModel {
  constructor(tracker: INotebookTracker) {
    this._tracker = tracker;
    tracker.currentChanged.connect(() => {
      this.data = null;
      this.diffs = {};
      this.error = '';
      this._changed.emit();
      void this.refresh();
    });
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get notebook(): NotebookPanel | null {
    return this._tracker.currentWidget;
  }

  data: INotebookData | null = null;
  error = '';
  busy = false;
  diffs: { [path: string]: IDataDiff | string } = {};

  /** Reload the current notebook's pins (those its open model holds) and unpinned inputs. */
  async refresh(): Promise<void> {
    const panel = this.notebook;
    if (!panel) {
      this.data = null;
      this._changed.emit();
      return;
    }
    await panel.context.ready;
    const path = panel.context.localPath;
    try {
      const data = await requestAPI<INotebookData>('data', {
        method: 'POST',
        body: JSON.stringify({ notebook: path, pins: modelPins(panel) })
      });
      if (this.notebook === panel) {
        this.data = data;
        this.error = '';
      }
    } catch (error) {
      this.error = String((error as Error).message ?? error);
    }
    this._changed.emit();
  }

  /** Pin (or re-pin) paths; the pins go into the open notebook model. */
  async pin(serverPaths: string[]): Promise<void> {
    const panel = this.notebook;
    if (!panel) {
      return;
    }
    await this._act(async () => {
      const answer = await requestAPI<IDataPins>('data/pin', {
        method: 'POST',
        body: JSON.stringify({
          paths: serverPaths,
          notebook: panel.context.localPath
        })
      });
      mergePins(panel, answer.pins);
    });
  }

  /** Restore the pinned version of a path after the user confirmed. */
  async checkout(pin: IPinState): Promise<void> {
    if (!pin.server_path) {
      return;
    }
    const result = await showDialog({
      title: 'Check out the pinned version?',
      body:
        `${pin.path} will be replaced by its pinned version ` +
        `(${pin.pin.hash.slice(0, 12)}). Local changes that are not pinned are discarded.`,
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: 'Check out' })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    const path = pin.server_path;
    await this._act(async () => {
      await requestAPI('data/checkout', {
        method: 'POST',
        body: JSON.stringify({ path, force: true })
      });
      delete this.diffs[pin.path];
    });
  }

  /** Show (or hide) which files of a pinned folder changed. */
  async toggleDiff(pin: IPinState): Promise<void> {
    if (this.diffs[pin.path] !== undefined) {
      delete this.diffs[pin.path];
      this._changed.emit();
      return;
    }
    if (!pin.server_path) {
      return;
    }
    try {
      this.diffs[pin.path] = await requestAPI<IDataDiff>(
        `data/diff?path=${encodeURIComponent(pin.server_path)}`
      );
    } catch (error) {
      this.diffs[pin.path] = String((error as Error).message ?? error);
    }
    this._changed.emit();
  }

  private async _act(work: () => Promise<void>): Promise<void> {
    this.busy = true;
    this._changed.emit();
    try {
      await work();
      this.error = '';
    } catch (error) {
      this.error = String((error as Error).message ?? error);
    } finally {
      this.busy = false;
    }
    await this.refresh();
  }

  private _tracker: INotebookTracker;
  private _changed = new Signal<this, void>(this);
}

/** The word shown for a pin's state. */
export function stateLabel(state: string): string {
  return state === 'ok' ? 'ok' : state === 'modified' ? 'drifted' : state;
}

function stateClass(state: string): string {
  return state === 'ok'
    ? 'jp-mlnb-Status-ok'
    : state === 'modified'
      ? 'jp-mlnb-Status-stale'
      : 'jp-mlnb-Status-failed';
}

function FileList(props: { label: string; files: string[] }): JSX.Element {
  if (!props.files.length) {
    return <></>;
  }
  return (
    <div className="jp-mlnb-DataPin-files">
      <span className="jp-mlnb-muted">{props.label}: </span>
      {props.files.slice(0, 50).join(', ')}
      {props.files.length > 50 ? ` … (${props.files.length})` : ''}
    </div>
  );
}

function PinRow(props: { model: DataModel; pin: IPinState }): JSX.Element {
  const { model, pin } = props;
  const label = stateLabel(pin.state);
  const diff = model.diffs[pin.path];
  const disabled = model.busy || !pin.server_path;
  return (
    <li className={`jp-mlnb-DataPin jp-mlnb-DataPin-${label}`} data-path={pin.path}>
      <div className="jp-mlnb-DataPin-head">
        <span className="jp-mlnb-DataPin-path" title={pin.path}>
          {pin.path}
          {pin.pin.kind === 'dir' ? '/' : ''}
        </span>
        <span className={`jp-mlnb-Status ${stateClass(pin.state)} jp-mlnb-DataPin-state`}>
          {label}
        </span>
      </div>
      <div className="jp-mlnb-muted jp-mlnb-DataPin-meta">
        {pin.pin.hash.slice(0, 12)} · {pin.pin.nfiles} file(s) ·{' '}
        {pin.pin.pinned_at}
        {pin.pin.note ? ` · ${pin.pin.note}` : ''}
      </div>
      {pin.detail ? <div className="jp-mlnb-muted">{pin.detail}</div> : null}
      <div className="jp-mlnb-DataPin-actions">
        <button
          type="button"
          className="jp-mlnb-Link jp-mlnb-DataPin-repin"
          title="Pin the current content instead"
          disabled={disabled || pin.state === 'missing'}
          onClick={() => pin.server_path && void model.pin([pin.server_path])}
        >
          Re-pin
        </button>
        <button
          type="button"
          className="jp-mlnb-Link jp-mlnb-DataPin-checkout"
          title="Restore the pinned version"
          disabled={disabled || pin.state === 'ok'}
          onClick={() => void model.checkout(pin)}
        >
          Check out
        </button>
        {pin.pin.kind === 'dir' ? (
          <button
            type="button"
            className="jp-mlnb-Link jp-mlnb-DataPin-diff"
            title="Which files were added, removed or modified"
            disabled={disabled}
            onClick={() => void model.toggleDiff(pin)}
          >
            What changed
          </button>
        ) : null}
      </div>
      {typeof diff === 'string' ? (
        <div className="jp-mlnb-Error">{diff}</div>
      ) : diff ? (
        <div className="jp-mlnb-DataPin-diffResult">
          {diff.old === diff.new ? (
            <div className="jp-mlnb-muted">No change since it was pinned.</div>
          ) : null}
          <FileList label="added" files={diff.added} />
          <FileList label="removed" files={diff.removed} />
          <FileList label="modified" files={diff.modified} />
        </div>
      ) : null}
    </li>
  );
}

export function DataView(props: { model: DataModel }): JSX.Element {
  const { model } = props;
  useModel(model);
  const data = model.data;
  const panel = model.notebook;
  return (
    <div className="jp-mlnb-Data">
      <div className="jp-mlnb-Toolbar">
        <span className="jp-mlnb-Toolbar-title">Data</span>
        <span className="jp-mlnb-Toolbar-spacer" />
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
      {model.error ? <div className="jp-mlnb-Error">{model.error}</div> : null}
      {!panel ? (
        <div className="jp-mlnb-Empty">Open a notebook to see its data pins.</div>
      ) : !data ? (
        <div className="jp-mlnb-Empty">Loading…</div>
      ) : (
        <>
          <div className="jp-mlnb-Data-notebook jp-mlnb-muted">{data.notebook}</div>
          <div className="jp-mlnb-Data-heading">Pinned data</div>
          {data.pins.length ? (
            <ul className="jp-mlnb-DataPins">
              {data.pins.map(pin => (
                <PinRow key={pin.path} model={model} pin={pin} />
              ))}
            </ul>
          ) : (
            <div className="jp-mlnb-Empty">
              No pins in this notebook yet: pin an input below, or run
              `%mlnb pin PATH` in a cell.
            </div>
          )}
          <div className="jp-mlnb-Data-heading">Unpinned inputs</div>
          {data.unpinned_reads.length ? (
            <ul className="jp-mlnb-DataReads">
              {data.unpinned_reads.map(read => (
                <li key={read.path} className="jp-mlnb-DataRead" data-path={read.path}>
                  <span className="jp-mlnb-DataPin-path" title={read.path}>
                    {read.path}
                  </span>
                  <button
                    type="button"
                    className="jp-mlnb-Link jp-mlnb-DataRead-pin"
                    disabled={model.busy || !read.server_path}
                    onClick={() =>
                      read.server_path && void model.pin([read.server_path])
                    }
                  >
                    Pin
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <div className="jp-mlnb-Empty">
              {data.run_id
                ? 'Every file the last run read is pinned.'
                : 'No tracked run of this notebook yet.'}
            </div>
          )}
        </>
      )}
    </div>
  );
}

/** The sidebar widget: refreshes on notebook switch and with a Poll while shown. */
export class DataPanel extends PolledPanel {
  constructor(options: { model: DataModel }) {
    super({ name: 'mlnb:data', interval: 10000 });
    this.id = Ids.dataSidebar;
    this.addClass('jp-mlnb-DataPanel');
    this.title.icon = dataIcon;
    this.title.caption = 'Data (pins of the current notebook)';
    this.model = options.model;
  }

  readonly model: DataModel;

  protected reload(): Promise<void> {
    return this.model.refresh();
  }

  protected render(): JSX.Element {
    return <DataView model={this.model} />;
  }
}
