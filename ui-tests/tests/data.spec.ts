/**
 * The Data sidebar against the project seeded by ../seed_project.py:
 *
 *   pinned.ipynb      pins data/labels.csv in its metadata ("v1 labels")
 *   data/labels.csv   replaced since: the pin has drifted
 *
 * Checking out changes only data/labels.csv; no run is recorded.
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

function projectFile(name: string): string {
  const root = process.env.MLNB_UI_ROOT;
  if (!root) {
    throw new Error('MLNB_UI_ROOT is not set: run ui-tests/run.sh');
  }
  return path.join(root, name);
}

test('a drifted pin is shown as drifted and Check out restores it', async ({
  page
}) => {
  const errors: string[] = [];
  page.on('pageerror', error => errors.push(error.stack ?? error.message));

  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('docmanager:open', {
      path: 'pinned.ipynb'
    });
  });
  await expect(
    page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').first()
  ).toBeVisible();
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('mlnb:open-data');
  });

  const sidebar = page.locator('#mlnb-data');
  await expect(sidebar).toBeVisible();
  const pin = sidebar.locator('.jp-mlnb-DataPin[data-path="data/labels.csv"]');
  await expect(pin.locator('.jp-mlnb-DataPin-state')).toHaveText('drifted');
  await expect(pin).toContainText('v1 labels');

  await pin.locator('.jp-mlnb-DataPin-checkout').click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('data/labels.csv');
  await dialog.locator('.jp-mod-accept').click();

  await expect(pin.locator('.jp-mlnb-DataPin-state')).toHaveText('ok');
  expect(fs.readFileSync(projectFile('data/labels.csv'), 'utf-8')).toContain(
    'cat'
  );
  expect(errors).toEqual([]);
});

test('a pin made by %mlnb pin in a cell lands in the open notebook, not on disk', async ({
  page
}) => {
  const errors: string[] = [];
  page.on('pageerror', error => errors.push(error.stack ?? error.message));
  // The pins in the notebook FILE's metadata (not its cells, whose source names the note).
  const pinsOnDisk = () =>
    Object.keys(
      JSON.parse(fs.readFileSync(projectFile('pinme.ipynb'), 'utf-8')).metadata
        ?.mlnb?.data ?? {}
    );
  expect(pinsOnDisk()).toEqual([]);

  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('docmanager:open', {
      path: 'pinme.ipynb'
    });
  });
  await expect(
    page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').first()
  ).toBeVisible();
  await page.notebook.run();

  // The open model holds the pin (metadata.mlnb.data), so the Data panel shows it as ok.
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('mlnb:open-data');
  });
  const pin = page.locator(
    '#mlnb-data .jp-mlnb-DataPin[data-path="data/features.csv"]'
  );
  await expect(pin.locator('.jp-mlnb-DataPin-state')).toHaveText('ok');
  await expect(pin).toContainText('from a cell');
  const note = await page.evaluate(() => {
    const panel = window.jupyterapp.shell.currentWidget as any;
    const mlnb = panel?.content?.model?.getMetadata('mlnb') as any;
    return mlnb?.data?.['data/features.csv']?.note ?? null;
  });
  expect(note).toBe('from a cell');

  // The kernel did not write the file behind the editor's back: no "file changed" dialog,
  // and the pin reaches the disk only when the user saves.
  await expect(page.locator('.jp-Dialog')).toHaveCount(0);
  expect(pinsOnDisk()).toEqual([]);
  await page.notebook.save();
  await expect.poll(pinsOnDisk).toEqual(['data/features.csv']);
  expect(errors).toEqual([]);
});
