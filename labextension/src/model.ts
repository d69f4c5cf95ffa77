/**
 * State of the Experiments sidebar: the runs query (filter, sort, page,
 * metric columns), the selection, and the view being shown (list, one run's
 * detail, or a comparison). Widgets render it and listen to `changed`.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { APIError, query, requestAPI } from './request';
import {
  ICompare,
  IMetricHistory,
  IRunDetail,
  IRunList,
  IServerStatus
} from './tokens';
import { ISort, orderByString, toggleSort } from './utils';

export type View =
  | { kind: 'list' }
  | { kind: 'detail'; runId: string }
  | { kind: 'compare'; ids: string[] };

/** How many metric columns are shown before the user picks. */
const DEFAULT_METRIC_COLUMNS = 2;

export class RunsModel implements IDisposable {
  constructor(options: RunsModel.IOptions = {}) {
    this._limit = options.pageSize ?? 25;
  }

  /** Emitted whenever anything shown changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted when the runs list was (re)loaded, for listeners such as badges. */
  get listLoaded(): ISignal<this, IRunList> {
    return this._listLoaded;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  // ---- query state -------------------------------------------------------

  /** Runs per page. */
  get limit(): number {
    return this._limit;
  }

  /** Change the page size (back to the first page when it changes). */
  setPageSize(limit: number): Promise<void> {
    const value = Math.max(1, Math.floor(limit));
    if (value === this._limit) {
      return Promise.resolve();
    }
    this._limit = value;
    this._offset = 0;
    return this.refreshList();
  }

  get offset(): number {
    return this._offset;
  }
  get filter(): string {
    return this._filter;
  }
  get sort(): ISort | null {
    return this._sort;
  }

  /** Metric keys shown as columns (the user's pick, else the first few). */
  get metricColumns(): string[] {
    const keys = this._list?.metric_keys ?? [];
    if (this._metricColumns === null) {
      return keys.slice(0, DEFAULT_METRIC_COLUMNS);
    }
    return this._metricColumns;
  }

  setMetricColumn(key: string, shown: boolean): void {
    const current = new Set(this.metricColumns);
    if (shown) {
      current.add(key);
    } else {
      current.delete(key);
    }
    const order = this._list?.metric_keys ?? [];
    this._metricColumns = [
      ...order.filter(k => current.has(k)),
      ...[...current].filter(k => !order.includes(k))
    ];
    this._emit();
  }

  /** Apply a new filter string (resets to the first page). */
  setFilter(filter: string): Promise<void> {
    this._filter = filter.trim();
    this._offset = 0;
    return this.refreshList();
  }

  /** Sort by the column with this filter-language key (toggles direction). */
  sortBy(key: string): Promise<void> {
    this._sort = toggleSort(this._sort, key);
    this._offset = 0;
    return this.refreshList();
  }

  setPage(offset: number): Promise<void> {
    const total = this._list?.total ?? 0;
    this._offset = Math.max(0, Math.min(offset, Math.max(0, total - 1)));
    return this.refreshList();
  }

  // ---- loaded data -------------------------------------------------------

  get list(): IRunList | null {
    return this._list;
  }
  /** The server's message for a rejected filter (has a caret line). */
  get filterError(): string | null {
    return this._filterError;
  }
  /** Any other error loading the current view. */
  get error(): string | null {
    return this._error;
  }
  get loading(): boolean {
    return this._pending > 0;
  }
  get detail(): IRunDetail | null {
    return this._detail;
  }
  get comparison(): ICompare | null {
    return this._compare;
  }
  get serverStatus(): IServerStatus | null {
    return this._status;
  }

  // ---- selection ---------------------------------------------------------

  get selected(): ReadonlySet<string> {
    return this._selected;
  }

  setSelected(runId: string, selected: boolean): void {
    if (selected) {
      this._selected.add(runId);
    } else {
      this._selected.delete(runId);
    }
    this._emit();
  }

  clearSelection(): void {
    this._selected.clear();
    this._emit();
  }

  // ---- views -------------------------------------------------------------

  get view(): View {
    return this._view;
  }

  showList(): Promise<void> {
    this._view = { kind: 'list' };
    this._detail = null;
    this._compare = null;
    this._error = null;
    this._emit();
    return this.refreshList();
  }

  openRun(runId: string): Promise<void> {
    this._view = { kind: 'detail', runId };
    if (this._detail?.id !== runId) {
      this._detail = null;
    }
    this._error = null;
    this._emit();
    return this.refreshDetail();
  }

  openCompare(ids: string[] = [...this._selected]): Promise<void> {
    this._view = { kind: 'compare', ids };
    this._compare = null;
    this._error = null;
    this._emit();
    return this.refreshCompare();
  }

  /** Reload whatever the current view shows. */
  async refresh(): Promise<void> {
    if (this._status === null) {
      await this._loadStatus();
    }
    switch (this._view.kind) {
      case 'list':
        return this.refreshList();
      case 'detail':
        return this.refreshDetail();
      case 'compare':
        return this.refreshCompare();
    }
  }

  async refreshList(): Promise<void> {
    const ticket = ++this._listTicket;
    const endPoint =
      'runs' +
      query({
        filter: this._filter,
        order_by: orderByString(this._sort),
        limit: this.limit,
        offset: this._offset
      });
    await this._track(async () => {
      try {
        const list = await requestAPI<IRunList>(endPoint);
        if (ticket !== this._listTicket) {
          return;
        }
        this._list = list;
        this._filterError = null;
        if (this._view.kind === 'list') {
          this._error = null;
        }
        this._listLoaded.emit(list);
      } catch (error) {
        if (ticket !== this._listTicket) {
          return;
        }
        if (error instanceof APIError && error.status === 400 && this._filter) {
          this._filterError = error.message;
        } else if (this._view.kind === 'list') {
          this._error = messageOf(error);
        }
      }
    });
  }

  async refreshDetail(): Promise<void> {
    if (this._view.kind !== 'detail') {
      return;
    }
    const runId = this._view.runId;
    await this._track(async () => {
      try {
        const detail = await requestAPI<IRunDetail>(
          `runs/${encodeURIComponent(runId)}`
        );
        if (this._view.kind === 'detail' && this._view.runId === runId) {
          this._detail = detail;
          this._error = null;
        }
      } catch (error) {
        if (this._view.kind === 'detail' && this._view.runId === runId) {
          this._error = messageOf(error);
        }
      }
    });
  }

  async refreshCompare(): Promise<void> {
    if (this._view.kind !== 'compare') {
      return;
    }
    const ids = this._view.ids;
    await this._track(async () => {
      try {
        const compare = await requestAPI<ICompare>(
          'compare' + query({ ids: ids.join(',') })
        );
        if (this._view.kind === 'compare' && this._view.ids === ids) {
          this._compare = compare;
          this._error = null;
        }
      } catch (error) {
        if (this._view.kind === 'compare' && this._view.ids === ids) {
          this._error = messageOf(error);
        }
      }
    });
  }

  /** Fetch one metric's history (not cached: charts fetch on demand). */
  metricHistory(runId: string, key: string): Promise<IMetricHistory> {
    return requestAPI<IMetricHistory>(
      `runs/${encodeURIComponent(runId)}/metrics/${key
        .split('/')
        .map(encodeURIComponent)
        .join('/')}`
    );
  }

  /** Delete a run, then go back to the list. */
  async deleteRun(runId: string): Promise<void> {
    await requestAPI<void>(`runs/${encodeURIComponent(runId)}`, {
      method: 'DELETE'
    });
    this._selected.delete(runId);
    await this.showList();
  }

  private async _loadStatus(): Promise<void> {
    try {
      this._status = await requestAPI<IServerStatus>('status');
    } catch {
      // Not fatal: paths are then taken as relative to the server root.
    }
  }

  private async _track(work: () => Promise<void>): Promise<void> {
    this._pending++;
    this._emit();
    try {
      await work();
    } finally {
      this._pending--;
      this._emit();
    }
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _listLoaded = new Signal<this, IRunList>(this);
  private _filter = '';
  private _sort: ISort | null = null;
  private _offset = 0;
  private _limit: number;
  private _metricColumns: string[] | null = null;
  private _list: IRunList | null = null;
  private _filterError: string | null = null;
  private _error: string | null = null;
  private _pending = 0;
  private _listTicket = 0;
  private _detail: IRunDetail | null = null;
  private _compare: ICompare | null = null;
  private _status: IServerStatus | null = null;
  private _selected = new Set<string>();
  private _view: View = { kind: 'list' };
}

export namespace RunsModel {
  export interface IOptions {
    /** Runs per page (default 25). */
    pageSize?: number;
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
