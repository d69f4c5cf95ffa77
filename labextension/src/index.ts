/**
 * mlnb for JupyterLab: the "Experiments" sidebar (runs, run detail with metric
 * charts and cell executions, compare), metric badges on notebook cells, the
 * "Pipeline" sidebar, "Run this notebook with parameters…" and notebook diffs.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { CellBadges } from './badges';
import { DataModel, DataPanel, followPinMessages } from './data';
import { experimentsIcon } from './icons';
import { RunsModel } from './model';
import { Navigator } from './navigate';
import { ExperimentsPanel } from './panel';
import { activateTools } from './tools';
import { Ids } from './tokens';
import { notebookServerPath } from './utils';
import { IViewActions } from './views';

const plugin: JupyterFrontEndPlugin<void> = {
  id: Ids.plugin,
  description:
    'Experiments sidebar for mlnb runs (metrics, cell executions, compare) and cell metric badges.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [
    IRenderMimeRegistry,
    IDocumentManager,
    ILayoutRestorer,
    ICommandPalette,
    ISettingRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry | null,
    docManager: IDocumentManager | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null
  ): void => {
    const model = new RunsModel();
    const navigator = new Navigator(app, tracker, docManager);
    const serverRoot = PageConfig.getOption('serverRoot');

    const notebookPath = (notebook: string | null, projectRoot?: string | null) =>
      notebookServerPath(
        notebook,
        projectRoot ?? model.serverStatus?.project_root ?? null,
        model.serverStatus?.server_root ?? (serverRoot || null)
      );
    const actions: IViewActions = {
      notebookPath: notebook => notebookPath(notebook),
      openNotebook: path => void navigator.openNotebook(path),
      revealCell: (path, cellId) => navigator.revealCell(path, cellId),
      compareWithRun: run => tools.compareWithRun(run),
      openExecuted: runId => tools.openExecuted(runId)
    };

    const panel = new ExperimentsPanel({ model, rendermime, actions });
    panel.title.caption = 'Experiments';
    app.shell.add(panel, 'left', { rank: 600, type: 'Experiments' });
    if (restorer) {
      restorer.add(panel, Ids.sidebar);
    }

    const openRun = (runId: string) => {
      app.shell.activateById(panel.id);
      void model.openRun(runId);
    };
    const badges = new CellBadges({ tracker, onOpenRun: openRun });
    const tools = activateTools({
      app,
      tracker,
      runs: model,
      restorer,
      palette,
      rendermime,
      openRun,
      openNotebook: path => void navigator.openNotebook(path),
      notebookPath
    });
    panel.disposed.connect(() => badges.dispose());

    // Data sidebar; pins published by `%mlnb pin` go into the open notebook's model
    followPinMessages(tracker);
    const dataPanel = new DataPanel({ model: new DataModel(tracker) });
    app.shell.add(dataPanel, 'left', { rank: 620, type: 'Data' });
    if (restorer) {
      restorer.add(dataPanel, Ids.dataSidebar);
    }
    app.commands.addCommand(Ids.openDataCommand, {
      label: 'Open Data',
      caption: 'Show the mlnb Data sidebar (pins of the current notebook)',
      execute: () => app.shell.activateById(dataPanel.id)
    });
    if (palette) {
      palette.addItem({ command: Ids.openDataCommand, category: 'Experiments' });
    }

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        const pageSize = settings.get('pageSize').composite as number;
        const refresh = settings.get('refreshInterval').composite as number;
        const cellBadges = settings.get('cellBadges').composite as boolean;
        void model.setPageSize(pageSize);
        panel.setRefreshInterval(refresh * 1000);
        badges.enabled = cellBadges;
      };
      settingRegistry
        .load(plugin.id)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.warn('mlnb: could not load the Experiments settings', reason);
        });
    }

    app.commands.addCommand(Ids.openCommand, {
      label: 'Open Experiments',
      caption: 'Show the mlnb Experiments sidebar (tracked runs)',
      icon: args => (args['isPalette'] ? undefined : experimentsIcon),
      execute: args => {
        app.shell.activateById(panel.id);
        const runId = args['runId'];
        if (typeof runId === 'string' && runId) {
          void model.openRun(runId);
        }
      }
    });
    app.commands.addCommand(Ids.refreshCommand, {
      label: 'Refresh Experiments',
      caption: 'Reload runs and cell badges',
      execute: async () => {
        const current = tracker.currentWidget;
        await Promise.all([
          panel.refresh(),
          current ? badges.refresh(current) : Promise.resolve()
        ]);
      }
    });
    if (palette) {
      palette.addItem({ command: Ids.openCommand, category: 'Experiments' });
      palette.addItem({ command: Ids.refreshCommand, category: 'Experiments' });
    }
  }
};

export default plugin;
