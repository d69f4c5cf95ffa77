/**
 * The Experiments sidebar widget: a ReactWidget over RunsModel that keeps
 * itself fresh with a Poll while it is visible.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import React from 'react';

import { experimentsIcon } from './icons';
import { RunsModel } from './model';
import { PolledPanel } from './polled';
import { Ids } from './tokens';
import { ExperimentsView, IViewActions } from './views';

export class ExperimentsPanel extends PolledPanel {
  constructor(options: ExperimentsPanel.IOptions) {
    super({ name: 'mlnb:experiments', interval: options.refreshInterval ?? 5000 });
    this.id = Ids.sidebar;
    this.addClass('jp-mlnb-ExperimentsPanel');
    this.title.icon = experimentsIcon;
    this.title.caption = 'Experiments (mlnb runs)';
    this.model = options.model;
    this._rendermime = options.rendermime;
    this._actions = options.actions;
  }

  readonly model: RunsModel;

  /** Change how often the panel reloads while visible. */
  setRefreshInterval(milliseconds: number): void {
    this.setPollInterval(Math.max(1000, milliseconds));
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  protected reload(): Promise<void> {
    return this.model.refresh();
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
