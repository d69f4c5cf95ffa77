/**
 * The Pipeline sidebar, "Run this notebook with parameters…", and the notebook
 * diff commands (against git HEAD, the last checkpoint, another run), with
 * their notebook toolbar buttons. Wired by the plugin in index.ts.
 */
import { JupyterFrontEnd, ILayoutRestorer } from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ReactWidget, ToolbarButton } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import React from 'react';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { DiffRequest, createDiffWidget } from './diffview';
import { createExecutedWidget } from './executed';
import { askAndExecute, createExecutionWidget } from './execute';
import { checkpointDiffIcon, diffIcon, paramsIcon, pipelineIcon } from './icons';
import { RunsModel } from './model';
import { PipelineModel, PipelinePanel } from './pipeline';
import { IRunDetail, IRunSummary, Ids } from './tokens';

export interface IToolsOptions {
  app: JupyterFrontEnd;
  tracker: INotebookTracker;
  runs: RunsModel;
  restorer: ILayoutRestorer | null;
  palette: ICommandPalette | null;
  rendermime: IRenderMimeRegistry | null;
  /** Show a run in the Experiments panel. */
  openRun(runId: string): void;
  /** Open a notebook by its server-relative path. */
  openNotebook(path: string): void;
  /** Server-relative path of a project-relative notebook path (null when outside the root). */
  notebookPath(notebook: string | null, projectRoot?: string | null): string | null;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function showError(title: string, error: unknown): Promise<void> {
  await showDialog({
    title,
    body: errorText(error),
    buttons: [Dialog.okButton()]
  });
}

/** The notebook panel a command acts on: the one named by args.path, else the current one. */
function targetPanel(
  tracker: INotebookTracker,
  path: unknown
): NotebookPanel | null {
  if (typeof path === 'string' && path) {
    return tracker.find(p => p.context.path === path) ?? null;
  }
  return tracker.currentWidget;
}

/** The run picker of "Compare with run…". */
class RunPicker extends ReactWidget {
  constructor(
    private _choices: { value: string; label: string }[]
  ) {
    super();
    this.addClass('jp-mlnb-RunPicker');
    this._value = _choices[0]?.value ?? '';
  }

  getValue(): string {
    return this._value;
  }

  protected render(): JSX.Element {
    return (
      <label className="jp-mlnb-RunPicker-label">
        Compare this run's notebook with
        <select
          className="jp-mod-styled jp-mlnb-RunPicker-select"
          defaultValue={this._value}
          onChange={e => {
            this._value = e.target.value;
          }}
        >
          {this._choices.map(c => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
    );
  }

  private _value: string;
}

export function activateTools(options: IToolsOptions): {
  compareWithRun(run: IRunDetail): void;
  openExecuted(runId: string): void;
} {
  const { app, tracker, restorer, palette } = options;

  // -- Executed notebooks (read-only) ---------------------------------------------------------
  app.commands.addCommand(Ids.openExecutedCommand, {
    label: 'Open Executed Notebook of a Run',
    execute: args => {
      const runId = args['runId'];
      if (typeof runId !== 'string' || !runId) {
        return;
      }
      const id = `mlnb-executed-${runId}`;
      const open = Array.from(app.shell.widgets('main')).find(w => w.id === id);
      if (!open) {
        app.shell.add(createExecutedWidget(runId, options.rendermime), 'main');
      }
      app.shell.activateById(id);
    }
  });
  const openExecuted = (runId: string) =>
    void app.commands.execute(Ids.openExecutedCommand, { runId });

  // -- Pipeline sidebar ---------------------------------------------------------------------
  const pipelineModel = new PipelineModel();
  const pipelinePanel = new PipelinePanel({
    model: pipelineModel,
    actions: {
      openNotebook: (notebook, projectRoot) => {
        const path = options.notebookPath(notebook, projectRoot);
        if (path) {
          options.openNotebook(path);
        }
      },
      openRun: options.openRun,
      openExecuted
    }
  });
  app.shell.add(pipelinePanel, 'left', { rank: 610, type: 'Pipeline' });
  if (restorer) {
    restorer.add(pipelinePanel, Ids.pipelineSidebar);
  }
  app.commands.addCommand(Ids.openPipelineCommand, {
    label: 'Open Pipeline',
    caption: 'Show the mlnb Pipeline sidebar (stages of mlnb.yaml)',
    icon: args => (args['isPalette'] ? undefined : pipelineIcon),
    execute: () => {
      app.shell.activateById(pipelinePanel.id);
    }
  });

  // -- Run with parameters ------------------------------------------------------------------
  app.commands.addCommand(Ids.runWithParametersCommand, {
    label: 'Run This Notebook with Parameters…',
    caption: 'Execute the notebook headlessly with parameters from a form, as a tracked run',
    icon: args => (args['isPalette'] ? undefined : paramsIcon),
    isEnabled: () => !!tracker.currentWidget,
    execute: async args => {
      const panel = targetPanel(tracker, args['path']);
      if (!panel) {
        return;
      }
      try {
        if (panel.context.model.dirty) {
          await panel.context.save();
        }
        const execution = await askAndExecute(panel.context.path);
        if (execution) {
          const widget = createExecutionWidget(execution, options.openRun);
          app.shell.add(widget, 'main', { mode: 'split-right' });
          app.shell.activateById(widget.id);
        }
      } catch (error) {
        await showError('Could not run the notebook', error);
      }
    }
  });

  // -- Diff -----------------------------------------------------------------------------------
  const openDiff = (request: DiffRequest, title: string) => {
    const widget = createDiffWidget(request, title);
    app.shell.add(widget, 'main');
    app.shell.activateById(widget.id);
  };
  const diffCommand = (ref: string, label: string, caption: string) => ({
    label,
    caption,
    icon: (args: any) => (args['isPalette'] ? undefined : diffIcon),
    isEnabled: () => !!tracker.currentWidget,
    execute: (args: any) => {
      const panel = targetPanel(tracker, args['path']);
      if (!panel) {
        return;
      }
      const path = panel.context.path;
      const name = path.split('/').pop();
      openDiff(
        { kind: 'path', path, ref, content: panel.context.model.toJSON() },
        `Diff ${name} (${ref === 'checkpoint' ? 'checkpoint' : ref})`
      );
    }
  });
  app.commands.addCommand(
    Ids.diffHeadCommand,
    diffCommand('HEAD', 'Diff Against Git HEAD', 'Cell-aware diff of this notebook (unsaved edits included) against git HEAD')
  );
  app.commands.addCommand(
    Ids.diffCheckpointCommand,
    diffCommand('checkpoint', 'Diff Against Last Checkpoint', 'Cell-aware diff of this notebook (unsaved edits included) against its last checkpoint')
  );
  app.commands.addCommand(Ids.diffRunsCommand, {
    label: 'Diff the Notebooks of Two Runs',
    execute: args => {
      const a = args['runA'];
      const b = args['runB'];
      if (typeof a === 'string' && typeof b === 'string') {
        openDiff({ kind: 'runs', runA: a, runB: b }, `Diff runs ${a.slice(0, 8)} → ${b.slice(0, 8)}`);
      }
    }
  });

  if (palette) {
    palette.addItem({ command: Ids.openPipelineCommand, category: 'Pipeline' });
    for (const command of [
      Ids.runWithParametersCommand,
      Ids.diffHeadCommand,
      Ids.diffCheckpointCommand
    ]) {
      palette.addItem({ command, category: 'Notebook Operations' });
    }
  }

  // -- Notebook toolbar buttons ---------------------------------------------------------------
  const extension: DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> = {
    createNew: (panel: NotebookPanel): IDisposable => {
      const run = (command: string) => () =>
        void app.commands.execute(command, { path: panel.context.path });
      const buttons: [string, ToolbarButton][] = [
        [
          'mlnb-run-with-parameters',
          new ToolbarButton({
            icon: paramsIcon,
            className: 'jp-mlnb-RunWithParametersButton',
            tooltip: 'Run this notebook with parameters… (headless, tracked)',
            onClick: run(Ids.runWithParametersCommand)
          })
        ],
        [
          'mlnb-diff-head',
          new ToolbarButton({
            icon: diffIcon,
            className: 'jp-mlnb-DiffHeadButton',
            tooltip: 'Diff against git HEAD',
            onClick: run(Ids.diffHeadCommand)
          })
        ],
        [
          'mlnb-diff-checkpoint',
          new ToolbarButton({
            icon: checkpointDiffIcon,
            className: 'jp-mlnb-DiffCheckpointButton',
            tooltip: 'Diff against the last checkpoint',
            onClick: run(Ids.diffCheckpointCommand)
          })
        ]
      ];
      // Right after the cell-type selector, so a narrow toolbar folds other items first.
      let after = 'cellType';
      for (const [name, button] of buttons) {
        if (panel.toolbar.insertAfter(after, name, button)) {
          after = name;
        } else {
          panel.toolbar.addItem(name, button);
        }
      }
      return new DisposableDelegate(() => buttons.forEach(([, b]) => b.dispose()));
    }
  };
  app.docRegistry.addWidgetExtension('Notebook', extension);

  // -- "Compare with run…" from the run detail --------------------------------------------------
  const compareWithRun = async (run: IRunDetail): Promise<void> => {
    const nowPath = options.notebookPath(run.notebook);
    const others: IRunSummary[] = (options.runs.list?.runs ?? []).filter(r => r.id !== run.id);
    // Runs of the same notebook first: those are the comparisons people mean.
    others.sort((x, y) => Number(y.notebook === run.notebook) - Number(x.notebook === run.notebook));
    const choices = [
      ...(nowPath ? [{ value: 'now', label: `${nowPath} as it is now` }] : []),
      ...others.map(r => ({
        value: r.id,
        label: `run ${r.id.slice(0, 8)} ${r.name ?? ''}${r.notebook && r.notebook !== run.notebook ? ` (${r.notebook})` : ''}`
      }))
    ];
    if (!choices.length) {
      await showDialog({
        title: 'Compare with run',
        body: 'There is no other run, and the run\'s notebook is not reachable from this server.',
        buttons: [Dialog.okButton()]
      });
      return;
    }
    const picker = new RunPicker(choices);
    const result = await showDialog({
      title: `Compare run ${run.name || run.id.slice(0, 8)}`,
      body: picker,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Diff' })]
    });
    if (!result.button.accept) {
      return;
    }
    const choice = result.value ?? picker.getValue();
    if (choice === 'now' && nowPath) {
      openDiff({ kind: 'path', path: nowPath, ref: `run:${run.id}` }, `Diff run ${run.id.slice(0, 8)} → now`);
    } else if (choice) {
      openDiff({ kind: 'runs', runA: run.id, runB: choice }, `Diff runs ${run.id.slice(0, 8)} → ${choice.slice(0, 8)}`);
    }
  };
  return { compareWithRun: run => void compareWithRun(run), openExecuted };
}
