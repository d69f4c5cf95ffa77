/**
 * The Pipeline sidebar, "Run this notebook with parameters…" and the notebook
 * diff view, against the project seeded by ../seed_project.py:
 *
 *   mlnb.yaml       prep (pipeline/prep.ipynb, n=3) → report (pipeline/report.ipynb)
 *   params.ipynb    parameters: greeting = 'hi', repeat: int = 2
 *   diffme.ipynb    committed with `alpha = 1`, edited to `alpha = 2` in the work tree
 *
 * This file runs after experiments.spec.ts (file order, one worker): the runs it
 * records (a stage, an execution) do not disturb the Experiments tests.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

const PIPELINE = '#mlnb-pipeline';

async function runPaletteCommand(page: IJupyterLabPageFixture, label: string): Promise<void> {
  await page.keyboard.press('Control+Shift+C');
  const palette = page.locator('#command-palette');
  await expect(palette).toBeVisible();
  await palette.locator('.lm-CommandPalette-input').fill(label);
  await palette.locator('.lm-CommandPalette-item', { hasText: label }).first().click();
}

async function openPipeline(page: IJupyterLabPageFixture): Promise<Locator> {
  await runPaletteCommand(page, 'Open Pipeline');
  const sidebar = page.locator(PIPELINE);
  await expect(sidebar).toBeVisible();
  return sidebar;
}

async function openNotebook(page: IJupyterLabPageFixture, path: string): Promise<Locator> {
  await page.evaluate(async (p: string) => {
    await window.jupyterapp.commands.execute('docmanager:open', { path: p });
  }, path);
  const panel = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
  await expect(panel.locator('.jp-Cell').first()).toBeVisible();
  return panel;
}

/** A file of the seeded project (the server root), read and written from the test process. */
function projectFile(name: string): string {
  const root = process.env.MLNB_UI_ROOT;
  if (!root) {
    throw new Error('MLNB_UI_ROOT is not set: run ui-tests/run.sh');
  }
  return path.join(root, name);
}

let pageErrors: string[] = [];
test.beforeEach(({ page }) => {
  pageErrors = [];
  page.on('pageerror', error => pageErrors.push(error.stack ?? error.message));
});
test.afterEach(() => {
  expect(pageErrors).toEqual([]);
});

test.describe('Pipeline sidebar', () => {
  test('shows the stages and runs one stage to completion', async ({ page }) => {
    const sidebar = await openPipeline(page);
    const prep = sidebar.locator('.jp-mlnb-Stage[data-stage="prep"]');
    const report = sidebar.locator('.jp-mlnb-Stage[data-stage="report"]');
    await expect(prep.locator('.jp-mlnb-Stage-status')).toHaveText('stale');
    await expect(prep.locator('.jp-mlnb-Stage-reasons')).toContainText('never run');
    await expect(report).toBeVisible();
    await expect(sidebar.locator('.jp-mlnb-Stage-name')).toHaveText(['prep', 'report']);

    await prep.locator('.jp-mlnb-Stage-run').click();
    const job = sidebar.locator('.jp-mlnb-Job');
    await expect(job).toHaveAttribute('data-status', 'finished', { timeout: 90000 });
    await expect(job.locator('.jp-mlnb-Log').first()).toContainText('✓ prep');
    await expect(job.locator('.jp-mlnb-Log').first()).toContainText('prep: cell 2/');
    expect(fs.readFileSync(projectFile('pipeline/data.txt'), 'utf-8')).toBe('xxx');
    await expect(prep.locator('.jp-mlnb-Stage-status')).toHaveText('fresh');
    // report depends on prep's output: it was not asked for and is still stale
    await expect(report.locator('.jp-mlnb-Stage-status')).toHaveText('stale');

    // the notebook as the stage executed it, outputs included (read-only)
    await prep.locator('.jp-mlnb-Stage-executed').click();
    const executed = page.locator('.jp-mlnb-ExecutedPanel:not(.lm-mod-hidden) .jp-mlnb-Executed');
    await expect(executed.locator('.jp-mlnb-Executed-stdout')).toContainText('prep wrote 3');
    await expect(executed.locator('.jp-mlnb-Executed-source').first()).toContainText('n = ');

    // the stage's tracked run opens in the Experiments panel
    await prep.locator('.jp-mlnb-Stage-runLink').click();
    const detail = page.locator('#mlnb-runs .jp-mlnb-RunDetail');
    await expect(detail.locator('.jp-mlnb-ParamsTable tr[data-key="n"] td')).toHaveText('3');
  });

  test('shows a malformed mlnb.yaml with its line, then recovers', async ({ page }) => {
    const sidebar = await openPipeline(page);
    await expect(sidebar.locator('.jp-mlnb-Stage')).toHaveCount(2);
    const original = fs.readFileSync(projectFile('mlnb.yaml'), 'utf-8');
    try {
      fs.writeFileSync(
        projectFile('mlnb.yaml'),
        'stages:\n  prep:\n    notebook: pipeline/prep.ipynb\n    deps: 3\n'
      );
      await sidebar.locator('.jp-mlnb-RefreshButton').click();
      const error = sidebar.locator('.jp-mlnb-SpecError');
      await expect(error).toContainText('line 4');
      await expect(error).toContainText('deps');
      await expect(sidebar.locator('.jp-mlnb-Stage')).toHaveCount(0);
      await expect(sidebar.locator('.jp-mlnb-RunAll')).toBeDisabled();
    } finally {
      fs.writeFileSync(projectFile('mlnb.yaml'), original);
    }
    await sidebar.locator('.jp-mlnb-RefreshButton').click();
    await expect(sidebar.locator('.jp-mlnb-Stage')).toHaveCount(2);
    await expect(sidebar.locator('.jp-mlnb-SpecError')).toHaveCount(0);
  });
});

test.describe('Run this notebook with parameters', () => {
  test('the form checks values and runs the notebook headlessly', async ({ page }) => {
    const panel = await openNotebook(page, 'params.ipynb');
    await panel.locator('.jp-mlnb-RunWithParametersButton').click();

    const dialog = page.locator('.jp-Dialog');
    const form = dialog.locator('.jp-mlnb-ParametersForm');
    await expect(form.locator('tr[data-param]')).toHaveCount(2);
    await expect(form.locator('tr[data-param="repeat"] .jp-mlnb-ParametersForm-type')).toHaveText('int');
    await expect(form.locator('tr[data-param="greeting"] input')).toHaveValue("'hi'");
    await expect(form.locator('tr[data-param="greeting"]')).toContainText('what to say');

    await form.locator('tr[data-param="repeat"] input').fill('many');
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    // the dialog comes back with the problem next to the field, the typed value kept
    const again = page.locator('.jp-Dialog .jp-mlnb-ParametersForm');
    await expect(again.locator('tr[data-param="repeat"] .jp-mlnb-ParametersForm-fieldError')).toHaveText(
      'must be an integer'
    );
    await expect(again.locator('tr[data-param="repeat"] input')).toHaveValue('many');
    await again.locator('tr[data-param="repeat"] input').fill('3');
    await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept').click();

    const execution = page.locator('.jp-mlnb-ExecutionPanel:not(.lm-mod-hidden) .jp-mlnb-Execution');
    await expect(execution).toHaveAttribute('data-status', 'finished', { timeout: 90000 });
    await expect(execution.locator('.jp-mlnb-Log')).toContainText('said hihihi');
    expect(fs.readFileSync(projectFile('params_out.txt'), 'utf-8')).toBe('hihihi');
    await expect(execution.locator('.jp-mlnb-Execution-params')).toContainText('repeat=3');
    await expect(execution.locator('.jp-mlnb-Execution-progress')).toHaveText(/cell (\d+)\/\1/);
    await execution.locator('.jp-mlnb-Execution-runLink').click();
    await expect(
      page.locator('#mlnb-runs .jp-mlnb-RunDetail .jp-mlnb-ParamsTable tr[data-key="repeat"] td')
    ).toHaveText('3');
  });
});

test.describe('Notebook diff', () => {
  test('against git HEAD shows the changed cell, unsaved edits included', async ({ page }) => {
    const panel = await openNotebook(page, 'diffme.ipynb');
    await panel.locator('.jp-mlnb-DiffHeadButton').click();
    let view = page.locator('.jp-mlnb-DiffPanel:not(.lm-mod-hidden)');
    let changed = view.locator('.jp-mlnb-CellDiff-modified');
    await expect(changed).toHaveCount(1);
    await expect(changed.locator('.jp-mlnb-DiffLine-removed')).toHaveText('-alpha = 1');
    await expect(changed.locator('.jp-mlnb-DiffLine-added')).toHaveText('+alpha = 2');
    await expect(view.locator('.jp-mlnb-Diff-labelA')).toContainText('HEAD:diffme.ipynb');
    await expect(view.locator('.jp-mlnb-Diff-counts')).toContainText('1 modified');
    await expect(view.locator('.jp-mlnb-CellDiff-unchanged')).toHaveCount(0);
    await view.locator('.jp-mlnb-Diff-showAll input').check();
    await expect(view.locator('.jp-mlnb-CellDiff-unchanged')).toHaveCount(1);

    // an edit that is not saved yet is part of the diff
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('docmanager:open', { path: 'diffme.ipynb' });
    });
    await page.notebook.setCell(0, 'code', 'alpha = 3');
    await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-mlnb-DiffHeadButton').click();
    view = page.locator('.jp-mlnb-DiffPanel:not(.lm-mod-hidden)');
    changed = view.locator('.jp-mlnb-CellDiff-modified');
    await expect(changed.locator('.jp-mlnb-DiffLine-added')).toHaveText('+alpha = 3');
    await expect(view.locator('.jp-mlnb-Diff-labelB')).toHaveText('diffme.ipynb (unsaved)');

    // against the last checkpoint: save (Lab makes a checkpoint), edit again, diff
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('docmanager:open', { path: 'diffme.ipynb' });
      await window.jupyterapp.commands.execute('docmanager:save');
    });
    await page.notebook.setCell(0, 'code', 'alpha = 4');
    await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-mlnb-DiffCheckpointButton').click();
    view = page.locator('.jp-mlnb-DiffPanel:not(.lm-mod-hidden)');
    await expect(view.locator('.jp-mlnb-Diff-labelA')).toContainText('checkpoint');
    changed = view.locator('.jp-mlnb-CellDiff-modified');
    await expect(changed.locator('.jp-mlnb-DiffLine-removed')).toHaveText('-alpha = 3');
    await expect(changed.locator('.jp-mlnb-DiffLine-added')).toHaveText('+alpha = 4');
  });

  test('Compare with run… shows the run diff header', async ({ page }) => {
    await runPaletteCommand(page, 'Open Experiments');
    const sidebar = page.locator('#mlnb-runs');
    await sidebar
      .locator('.jp-mlnb-RunRow td.jp-mlnb-col-name', { hasText: 'train.ipynb' })
      .last() // the seeded run (lr 0.1); newer ones come first
      .click();
    await sidebar.locator('.jp-mlnb-CompareWithRun').click();
    const select = page.locator('.jp-Dialog .jp-mlnb-RunPicker-select');
    // the seeded tune run (lr 0.02): the oldest of the runs named tune.ipynb, listed last
    const tune = await select.locator('option', { hasText: 'tune.ipynb' }).last().getAttribute('value');
    await select.selectOption(tune!);
    await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept').click();
    const view = page.locator('.jp-mlnb-DiffPanel:not(.lm-mod-hidden)');
    await expect(view.locator('.jp-mlnb-RunDiff-params')).toContainText('lr 0.1 → 0.02');
    await expect(view.locator('.jp-mlnb-RunDiff-metrics')).toContainText('acc 0.9611 → 0.6705');
    // same code; the executed outputs differ (the printed accuracy)
    await expect(view.locator('.jp-mlnb-CellDiff-added, .jp-mlnb-CellDiff-deleted')).toHaveCount(0);
    await expect(view.locator('.jp-mlnb-CellDiff-outputs').first()).toContainText('output');
  });
});
