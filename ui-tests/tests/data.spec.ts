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
