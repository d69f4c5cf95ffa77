/**
 * The Experiments sidebar widget: a ReactWidget over RunsModel that keeps
 * itself fresh with a Poll while it is visible.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Poll } from '@lumino/polling';
import React from 'react';

import { experimentsIcon } from './icons';
import { RunsModel } from './model';
import { Ids } from './tokens';
import { ExperimentsView, IViewActions } from './views';

export class ExperimentsPanel extends ReactWidget {
  constructor(options: ExperimentsPanel.IOptions) {
    super();
    this.id = Ids.sidebar;
    this.addClass('jp-mlnb-ExperimentsPanel');
    this.title.icon = experimentsIcon;
    this.title.caption = 'Experiments (mlnb runs)';
    this.model = options.model;
    this._rendermime = options.rendermime;
    this._actions = options.actions;

    this._poll = new Poll({
      auto: false,
      factory: () => this.model.refresh(),
      frequency: {
        interval: options.refreshInterval ?? 5000,
        backoff: true,
        max: 60 * 1000
      },
      name: 'mlnb:experiments',
      // Refresh only while the panel is shown and the page is visible.
      standby: () => !this.isVisible || 'when-hidden'
    });
  }

  readonly model: RunsModel;

  /** Change how often the panel reloads while visible. */
  setRefreshInterval(milliseconds: number): void {
    const interval = Math.max(1000, milliseconds);
    if (this._poll.frequency.interval !== interval) {
      this._poll.frequency = { ...this._poll.frequency, interval };
    }
  }

  /** Reload now (the refresh button and the refresh command). */
  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    this.model.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._started) {
      this._started = true;
      void this._poll.start();
    }
    void this._poll.refresh();
  }

  protected render(): JSX.Element {
    return (
      <ExperimentsView
        model={this.model}
        rendermime={this._rendermime}
        actions={this._actions}
      />
    );
  }

  private _poll: Poll;
  private _started = false;
  private _rendermime: IRenderMimeRegistry | null;
  private _actions: IViewActions;
}

export namespace ExperimentsPanel {
  export interface IOptions {
    model: RunsModel;
    rendermime: IRenderMimeRegistry | null;
    actions: IViewActions;
    /** Milliseconds between refreshes while visible (default 5000). */
    refreshInterval?: number;
  }
}
