/**
 * Jumping from a recorded cell execution to the cell in an open notebook.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { samePath } from './utils';

export interface INavigator {
  /** Open (or reveal) a notebook by server-relative path. */
  openNotebook(path: string): Promise<NotebookPanel | null>;
  /**
   * Activate the notebook at `path` and select/scroll to the cell with the
   * nbformat id `cellId`. Returns false when the notebook or cell is absent.
   */
  revealCell(path: string, cellId: string): Promise<boolean>;
}

export class Navigator implements INavigator {
  constructor(
    private readonly _app: JupyterFrontEnd,
    private readonly _tracker: INotebookTracker,
    private readonly _docManager: IDocumentManager | null
  ) {}

  findOpen(path: string): NotebookPanel | null {
    return this._tracker.find(panel => samePath(panel.context.path, path)) ?? null;
  }

  async openNotebook(path: string): Promise<NotebookPanel | null> {
    let panel = this.findOpen(path);
    if (!panel && this._docManager) {
      const widget = this._docManager.openOrReveal(path);
      panel = widget instanceof NotebookPanel ? widget : this.findOpen(path);
    }
    if (!panel) {
      return null;
    }
    this._app.shell.activateById(panel.id);
    await panel.context.ready;
    return panel;
  }

  async revealCell(path: string, cellId: string): Promise<boolean> {
    const panel = await this.openNotebook(path);
    if (!panel) {
      return false;
    }
    const notebook = panel.content;
    const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
    if (index < 0) {
      return false;
    }
    notebook.deselectAll();
    notebook.activeCellIndex = index;
    notebook.mode = 'command';
    const cell = notebook.widgets[index];
    await notebook.scrollToCell(cell, 'center');
    notebook.node.focus();
    return true;
  }
}
