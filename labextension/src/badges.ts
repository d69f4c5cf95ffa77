/**
 * Cell badges: each code cell whose last execution logged metrics shows a
 * small line such as "acc 0.93 · loss 0.12" under its input.
 *
 * Badges are fetched (GET cells?notebook=) when a notebook opens and after
 * cells finish executing (debounced: the kernel's writer commits in batches,
 * so a second, later fetch catches rows that were not yet written).
 */
import { Cell } from '@jupyterlab/cells';
import {
  INotebookTracker,
  Notebook,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { Debouncer, Poll } from '@lumino/polling';
import { PanelLayout, Widget } from '@lumino/widgets';

import { query, requestAPI } from './request';
import { ICellRecord, ICells } from './tokens';
import { badgeText, formatDuration, formatTime, formatValue } from './utils';

const BADGE_CLASS = 'jp-mlnb-CellBadge';

/** The badge widget placed in a cell's layout after its input. */
export class CellBadge extends Widget {
  constructor(onOpenRun: (runId: string) => void) {
    super({ node: document.createElement('div') });
    this.addClass(BADGE_CLASS);
    this._label = document.createElement('button');
    this._label.type = 'button';
    this._label.className = `${BADGE_CLASS}-label`;
    this._label.addEventListener('click', event => {
      event.stopPropagation();
      if (this._runId) {
        onOpenRun(this._runId);
      }
    });
    // Keep clicks on the badge from changing the notebook's selection.
    this._label.addEventListener('mousedown', event => event.stopPropagation());
    this.node.appendChild(this._label);
  }

  setRecord(record: ICellRecord): void {
    this._runId = record.run_id;
    const text = badgeText(record.metrics);
    if (this._label.textContent !== text) {
      this._label.textContent = text;
    }
    this.node.dataset.runId = record.run_id;
    const details = Object.entries(record.metrics)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} = ${formatValue(v)}`)
      .join('\n');
    this._label.title =
      `${details}\n\nrun ${record.run_id} · [${record.execution_count ?? ' '}] ` +
      `${formatTime(record.start_time)} · ${formatDuration(record.duration)}\n` +
      'Click to open the run in Experiments';
  }

  private _label: HTMLButtonElement;
  private _runId = '';
}

/** Keeps the badges of every open notebook in step with the store. */
export class CellBadges implements IDisposable {
  constructor(options: CellBadges.IOptions) {
    this._tracker = options.tracker;
    this._onOpenRun = options.onOpenRun;
    this._tracker.widgetAdded.connect(this._onPanelAdded, this);
    this._tracker.forEach(panel => this._onPanelAdded(this._tracker, panel));
    NotebookActions.executed.connect(this._onExecuted, this);

    // A slow background refresh of the current notebook (writes from a
    // headless run or another kernel); stands by when the page is hidden.
    this._poll = new Poll({
      factory: async () => {
        const panel = this._tracker.currentWidget;
        if (panel) {
          await this._fetch(panel);
        }
      },
      frequency: { interval: options.pollInterval ?? 20000, backoff: true, max: 120000 },
      name: 'mlnb:cell-badges',
      standby: 'when-hidden'
    });
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    NotebookActions.executed.disconnect(this._onExecuted, this);
    this._tracker.widgetAdded.disconnect(this._onPanelAdded, this);
    for (const state of this._states.values()) {
      state.soon.dispose();
      state.later.dispose();
    }
    this._states.clear();
  }

  /** Whether badges are shown (a setting); turning off removes them. */
  get enabled(): boolean {
    return this._enabled;
  }
  set enabled(value: boolean) {
    if (value === this._enabled) {
      return;
    }
    this._enabled = value;
    for (const panel of this._states.keys()) {
      if (value) {
        void this._fetch(panel);
      } else {
        this._apply(panel);
      }
    }
  }

  /** Refetch the badges of one notebook now. */
  refresh(panel: NotebookPanel): Promise<void> {
    return this._fetch(panel);
  }

  private _onPanelAdded(_: INotebookTracker, panel: NotebookPanel): void {
    if (this._states.has(panel)) {
      return;
    }
    const state: Private.IPanelState = {
      records: {},
      soon: new Debouncer(() => this._fetch(panel), 400),
      later: new Debouncer(() => this._fetch(panel), 2500)
    };
    this._states.set(panel, state);

    void panel.context.ready.then(() => {
      if (!panel.isDisposed) {
        void state.soon.invoke();
      }
    });
    panel.context.pathChanged.connect(() => void state.soon.invoke());
    const onCellsChanged = () => this._apply(panel);
    panel.content.model?.cells.changed.connect(onCellsChanged);
    panel.content.modelChanged.connect(() => {
      panel.content.model?.cells.changed.connect(onCellsChanged);
      void state.soon.invoke();
    });
    panel.disposed.connect(() => {
      state.soon.dispose();
      state.later.dispose();
      this._states.delete(panel);
    });
  }

  private _onExecuted(
    _: unknown,
    args: { notebook: Notebook; cell: Cell }
  ): void {
    const panel = this._tracker.find(p => p.content === args.notebook);
    const state = panel ? this._states.get(panel) : undefined;
    if (!state) {
      return;
    }
    void state.soon.invoke();
    void state.later.invoke();
  }

  private async _fetch(panel: NotebookPanel): Promise<void> {
    const state = this._states.get(panel);
    if (!this._enabled || !state || panel.isDisposed || !panel.context.isReady) {
      return;
    }
    const path = panel.context.path;
    try {
      const answer = await requestAPI<ICells>('cells' + query({ notebook: path }));
      if (panel.isDisposed || panel.context.path !== path) {
        return;
      }
      state.records = answer.cells ?? {};
    } catch (error) {
      // Badges are a convenience: keep the last known ones on errors.
      console.debug('mlnb: could not load cell badges', error);
      return;
    }
    this._apply(panel);
  }

  private _apply(panel: NotebookPanel): void {
    const state = this._states.get(panel);
    if (!state || panel.isDisposed) {
      return;
    }
    for (const cell of panel.content.widgets) {
      const record =
        this._enabled && cell.model.type === 'code'
          ? state.records[cell.model.id]
          : undefined;
      if (record && Object.keys(record.metrics ?? {}).length > 0) {
        void cell.ready.then(() => this._attach(cell, record));
      } else {
        this._detach(cell);
      }
    }
  }

  private _attach(cell: Cell, record: ICellRecord): void {
    if (cell.isDisposed) {
      return;
    }
    let badge = this._badges.get(cell);
    if (!badge || badge.isDisposed) {
      badge = new CellBadge(this._onOpenRun);
      this._badges.set(cell, badge);
    }
    badge.setRecord(record);
    if (badge.parent !== cell) {
      const layout = cell.layout as PanelLayout;
      const inputWrapper = cell.inputArea?.parent ?? null;
      const index = inputWrapper ? layout.widgets.indexOf(inputWrapper) : -1;
      if (index >= 0) {
        layout.insertWidget(index + 1, badge);
      } else {
        layout.addWidget(badge);
      }
    }
  }

  private _detach(cell: Cell): void {
    const badge = this._badges.get(cell);
    if (badge) {
      badge.dispose();
      this._badges.delete(cell);
    }
  }

  private _isDisposed = false;
  private _enabled = true;
  private _tracker: INotebookTracker;
  private _onOpenRun: (runId: string) => void;
  private _poll: Poll;
  private _states = new Map<NotebookPanel, Private.IPanelState>();
  private _badges = new WeakMap<Cell, CellBadge>();
}

export namespace CellBadges {
  export interface IOptions {
    tracker: INotebookTracker;
    /** Called when a badge is clicked. */
    onOpenRun: (runId: string) => void;
    /** Milliseconds between background refreshes of the current notebook. */
    pollInterval?: number;
  }
}

namespace Private {
  export interface IPanelState {
    records: { [cellId: string]: ICellRecord };
    soon: Debouncer;
    later: Debouncer;
  }
}
