/**
 * The Experiments sidebar and cell badges against a real JupyterLab whose
 * project holds runs recorded by a real kernel (see ../seed_project.py):
 *
 *   train.ipynb   lr 0.1   acc 0.9611  loss 0.0778
 *   tune.ipynb    lr 0.02  acc 0.6705  loss 0.6591
 *   scratch.ipynb lr 0.05  acc 0.8362  loss 0.3277   (removed by the delete test)
 *   HOSTILE       (logged from Python; name and params are HTML)  acc 0.5
 *
 * Each notebook's cell "cell-3" logged acc/loss over 5 steps.
 * Tests run in file order with one worker; only the last two change the store.
 */
import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';

const SIDEBAR = '#mlnb-runs';
// Keep in step with seed_project.py.
const HOSTILE_NAME = '<img src=x onerror="window.__mlnbPwned=1">';
const HOSTILE_PARAM = '<script>window.__mlnbPwned=2</script><b>bold</b>';

async function openExperiments(page: IJupyterLabPageFixture): Promise<Locator> {
  // Through the command palette, as a user would.
  await page.keyboard.press('Control+Shift+C');
  const palette = page.locator('#command-palette');
  await expect(palette).toBeVisible();
  await palette.locator('.lm-CommandPalette-input').fill('Open Experiments');
  await palette
    .locator('.lm-CommandPalette-item', { hasText: 'Open Experiments' })
    .first()
    .click();
  const sidebar = page.locator(SIDEBAR);
  await expect(sidebar).toBeVisible();
  await expect(sidebar.locator('.jp-mlnb-RunRow').first()).toBeVisible();
  return sidebar;
}

function row(sidebar: Locator, name: string): Locator {
  return sidebar.locator('.jp-mlnb-RunRow', {
    has: sidebar.page().locator('td.jp-mlnb-col-name', { hasText: name })
  });
}

async function applyFilter(sidebar: Locator, text: string): Promise<void> {
  const input = sidebar.locator('.jp-mlnb-FilterBox-input');
  await input.fill(text);
  await input.press('Enter');
}

async function openNotebook(page: IJupyterLabPageFixture, path: string): Promise<void> {
  // The seeded notebooks live at the server root, outside galata's tmpPath.
  await page.evaluate(async (p: string) => {
    await window.jupyterapp.commands.execute('docmanager:open', { path: p });
  }, path);
  await expect(page.locator(`.lm-DockPanel-tabBar .lm-TabBar-tab[title*="${path}"]`)).toHaveCount(1);
  await expect(
    page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').first()
  ).toBeVisible();
}

// Any uncaught error in the page fails the test, even when the UI looks right.
let pageErrors: string[] = [];
test.beforeEach(({ page }) => {
  pageErrors = [];
  page.on('pageerror', error => pageErrors.push(error.stack ?? error.message));
});
test.afterEach(() => {
  expect(pageErrors).toEqual([]);
});

test.describe('Experiments sidebar with 2 runs per page', () => {
  test.use({
    mockSettings: { ...galata.DEFAULT_SETTINGS, 'mlnb:plugin': { pageSize: 2 } }
  });

  test('pages through the runs', async ({ page }) => {
    const sidebar = await openExperiments(page);
    const range = sidebar.locator('.jp-mlnb-Pager-range');
    const prev = sidebar.locator('.jp-mlnb-Pager-prev');
    const next = sidebar.locator('.jp-mlnb-Pager-next');
    const names = sidebar.locator('.jp-mlnb-RunRow td.jp-mlnb-col-name');

    await expect(range).toHaveText('1–2 of 4');
    await expect(sidebar.locator('.jp-mlnb-RunRow')).toHaveCount(2);
    await expect(prev).toBeDisabled();
    const firstPage = await names.allTextContents();

    await next.click();
    await expect(range).toHaveText('3–4 of 4');
    await expect(next).toBeDisabled();
    await expect(sidebar.locator('.jp-mlnb-RunRow')).toHaveCount(2);
    const secondPage = await names.allTextContents();
    expect(secondPage.filter(n => firstPage.includes(n))).toEqual([]);

    await prev.click();
    await expect(range).toHaveText('1–2 of 4');
    await expect(names).toHaveText(firstPage);
  });
});

test.describe('Experiments sidebar refreshing every second', () => {
  test.use({
    mockSettings: { ...galata.DEFAULT_SETTINGS, 'mlnb:plugin': { refreshInterval: 1 } }
  });

  test('polls while visible and stands by while hidden', async ({ page }) => {
    let requests = 0;
    page.on('request', request => {
      if (/\/mlnb\/api\/runs(\?|$)/.test(request.url())) {
        requests++;
      }
    });
    await openExperiments(page);
    const shown = requests;
    await expect.poll(() => requests, { timeout: 10000 }).toBeGreaterThanOrEqual(shown + 2);

    // Switch the left area to the file browser: the Experiments panel is hidden.
    await page.sidebar.openTab('filebrowser');
    await expect(page.locator(SIDEBAR)).toBeHidden();
    const hidden = requests;
    // A measurement window (3 poll intervals), not a synchronisation.
    await page.waitForTimeout(3000);
    expect(requests).toEqual(hidden);

    // Shown again: refreshes at once, then keeps polling.
    await openExperiments(page);
    await expect.poll(() => requests, { timeout: 10000 }).toBeGreaterThanOrEqual(hidden + 2);
  });
});

test.describe('Experiments sidebar', () => {
  test('lists the seeded runs with metric columns', async ({ page }) => {
    const sidebar = await openExperiments(page);
    await expect(sidebar.locator('.jp-mlnb-RunRow')).toHaveCount(4);

    const headers = sidebar.locator('.jp-mlnb-RunsTable thead th');
    await expect(headers.filter({ hasText: /^acc/ })).toHaveCount(1);
    await expect(headers.filter({ hasText: /^loss/ })).toHaveCount(1);

    const train = row(sidebar, 'train.ipynb');
    await expect(train.locator('.jp-mlnb-col-status')).toHaveText('finished');
    await expect(train.locator('.jp-mlnb-col-notebook')).toHaveText('train.ipynb');
    await expect(train.locator('.jp-mlnb-col-metric').first()).toHaveText('0.9611');
    await expect(sidebar.locator('.jp-mlnb-Pager-range')).toHaveText('1–4 of 4');

    // The metric picker drops a column.
    await sidebar.locator('.jp-mlnb-MetricPicker summary').click();
    await sidebar
      .locator('.jp-mlnb-MetricPicker-item', { hasText: 'loss' })
      .locator('input')
      .uncheck();
    await expect(headers.filter({ hasText: /^loss/ })).toHaveCount(0);
    await expect(headers.filter({ hasText: /^acc/ })).toHaveCount(1);
  });

  test('filters runs and shows the server message for a bad filter', async ({ page }) => {
    const sidebar = await openExperiments(page);
    await expect(sidebar.locator('.jp-mlnb-RunRow')).toHaveCount(4);

    await applyFilter(sidebar, 'metrics.acc > 0.9');
    await expect(sidebar.locator('.jp-mlnb-RunRow')).toHaveCount(1);
    await expect(row(sidebar, 'train.ipynb')).toBeVisible();
    await expect(sidebar.locator('.jp-mlnb-FilterError')).toHaveCount(0);

    await applyFilter(sidebar, "params.optimizer = 'sgd' and metrics.acc <");
    const error = sidebar.locator('.jp-mlnb-FilterError');
    await expect(error).toBeVisible();
    // The server's FilterSyntaxError message ends with a caret line under the bad spot.
    await expect(error).toContainText('^');
    await expect(error).toContainText("params.optimizer = 'sgd' and metrics.acc <");

    // Fixing it clears the error.
    await applyFilter(sidebar, "name = 'tune.ipynb'");
    await expect(error).toHaveCount(0);
    await expect(sidebar.locator('.jp-mlnb-RunRow')).toHaveCount(1);
    await expect(row(sidebar, 'tune.ipynb')).toBeVisible();
  });

  test('sorts by a metric column', async ({ page }) => {
    const sidebar = await openExperiments(page);
    const header = sidebar.locator('.jp-mlnb-RunsTable thead th', { hasText: /^acc/ });
    const names = sidebar.locator('.jp-mlnb-RunRow td.jp-mlnb-col-name');

    await header.click();
    await expect(header).toHaveAttribute('aria-sort', 'descending');
    await expect(names).toHaveText([
      'train.ipynb',
      'scratch.ipynb',
      'tune.ipynb',
      HOSTILE_NAME
    ]);

    await header.click();
    await expect(header).toHaveAttribute('aria-sort', 'ascending');
    await expect(names).toHaveText([
      HOSTILE_NAME,
      'tune.ipynb',
      'scratch.ipynb',
      'train.ipynb'
    ]);
  });

  test('renders run names and params as text, never as HTML', async ({ page }) => {
    const sidebar = await openExperiments(page);
    const hostile = sidebar.locator('td.jp-mlnb-col-name', { hasText: HOSTILE_NAME });
    await expect(hostile).toHaveText(HOSTILE_NAME);
    await hostile.click();
    const detail = sidebar.locator('.jp-mlnb-RunDetail');
    await expect(detail.locator('.jp-mlnb-RunDetail-name')).toHaveText(HOSTILE_NAME);
    await expect(detail.locator('.jp-mlnb-ParamsTable tr[data-key="note"] td')).toHaveText(
      HOSTILE_PARAM
    );
    await expect(detail.locator('.jp-mlnb-TagsTable td')).toHaveText('<i>tag</i>');
    await expect(sidebar.locator('img, script, b, i')).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).__mlnbPwned)).toBeUndefined();
  });

  test('run detail shows params, metric charts and cell executions', async ({ page }) => {
    const sidebar = await openExperiments(page);
    await row(sidebar, 'train.ipynb').locator('td.jp-mlnb-col-name').click();

    const detail = sidebar.locator('.jp-mlnb-RunDetail');
    await expect(detail.locator('.jp-mlnb-RunDetail-name')).toHaveText('train.ipynb');
    const params = detail.locator('.jp-mlnb-ParamsTable');
    await expect(params.locator('tr[data-key="lr"] td')).toHaveText('0.1');
    await expect(params.locator('tr[data-key="optimizer"] td')).toHaveText('sgd');
    await expect(params.locator('tr[data-key="epochs"] td')).toHaveText('5');

    // One chart per metric, drawn from the 5-point history.
    const chart = detail.locator('.jp-mlnb-MetricChart[data-metric="acc"]');
    await expect(chart).toHaveAttribute('data-phase', 'done');
    await expect(chart).toHaveAttribute('data-points', '5');
    await expect(chart.locator('svg').first()).toBeVisible();
    await expect(detail.locator('.jp-mlnb-MetricChart')).toHaveCount(2);
    await expect(
      detail.locator('.jp-mlnb-MetricSummary[data-metric="acc"] .jp-mlnb-MetricSummary-values')
    ).toContainText('last 0.9611');

    // The cell executions after `%load_ext mlnb`, in order, with the metrics
    // the loop cell logged.
    const execs = detail.locator('.jp-mlnb-CellExecution');
    await expect(execs).toHaveCount(4);
    await expect(execs.nth(0)).toContainText('import os');
    await expect(execs.nth(0)).toHaveAttribute('data-cell-id', 'cell-1');
    const loop = detail.locator('.jp-mlnb-CellExecution[data-cell-id="cell-3"]');
    await expect(loop).toContainText('loss, acc = 1.0, 0.5');
    await expect(loop.locator('.jp-mlnb-CellExecution-metrics')).toHaveText('acc 0.9611 · loss 0.0778');

    // Clicking it opens the notebook and selects that cell.
    await loop.locator('.jp-mlnb-CellExecution-button').click();
    const active = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active');
    await expect(active).toHaveCount(1);
    await expect(active).toContainText('for step in range(epochs)');
  });

  test('cell badges show the metrics of the last execution', async ({ page }) => {
    await openNotebook(page, 'train.ipynb');
    const badges = page.locator('.jp-NotebookPanel .jp-mlnb-CellBadge');
    await expect(badges).toHaveCount(1);
    await expect(badges.first()).toHaveText(/acc 0\.9611 · loss 0\.0778/);

    // It sits on the cell that logged the metrics (the 4th), not on the others.
    const cell = await page.notebook.getCellLocator(3);
    expect(cell).not.toBeNull();
    await expect(cell!.locator('.jp-mlnb-CellBadge')).toHaveCount(1);
    const first = await page.notebook.getCellLocator(0);
    await expect(first!.locator('.jp-mlnb-CellBadge')).toHaveCount(0);

    // The cell is still editable with its badge.
    await page.notebook.setCell(4, 'code', "print('edited')");
    await expect((await page.notebook.getCellLocator(4))!).toContainText("print('edited')");

    // Clicking the badge opens that run in the sidebar.
    await badges.first().locator('button').click();
    await expect(page.locator(`${SIDEBAR} .jp-mlnb-RunDetail-name`)).toHaveText('train.ipynb');
  });

  test('compares two selected runs', async ({ page }) => {
    const sidebar = await openExperiments(page);
    const compare = sidebar.locator('.jp-mlnb-CompareButton');
    await expect(compare).toBeDisabled();
    await row(sidebar, 'train.ipynb').locator('input[type="checkbox"]').check();
    await expect(compare).toBeDisabled();
    await row(sidebar, 'tune.ipynb').locator('input[type="checkbox"]').check();
    await expect(compare).toBeEnabled();
    await compare.click();

    const table = sidebar.locator('.jp-mlnb-CompareTable');
    await expect(table).toBeVisible();
    await expect(table.locator('thead th[data-run-id]')).toHaveCount(2);
    await expect(table.locator('thead')).toContainText('train.ipynb');
    await expect(table.locator('thead')).toContainText('tune.ipynb');

    const lr = table.locator('tr[data-key="lr"]');
    await expect(lr).toHaveClass(/jp-mlnb-differs/);
    await expect(lr).toContainText('0.1');
    await expect(lr).toContainText('0.02');
    await expect(table.locator('tr[data-key="epochs"]')).not.toHaveClass(/jp-mlnb-differs/);
    await expect(table.locator('tr[data-key="optimizer"]')).not.toHaveClass(/jp-mlnb-differs/);
    await expect(table.locator('tr[data-key="acc"]')).toHaveClass(/jp-mlnb-differs/);
  });

  test('deletes a run from its detail view after confirmation', async ({ page }) => {
    const sidebar = await openExperiments(page);
    await expect(sidebar.locator('.jp-mlnb-RunRow')).toHaveCount(4);
    await row(sidebar, 'scratch.ipynb').locator('td.jp-mlnb-col-name').click();
    await expect(sidebar.locator('.jp-mlnb-RunDetail-name')).toHaveText('scratch.ipynb');

    // Cancel keeps it.
    await sidebar.locator('.jp-mlnb-DeleteButton').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('scratch.ipynb');
    await dialog.locator('button', { hasText: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);
    await expect(sidebar.locator('.jp-mlnb-RunDetail-name')).toHaveText('scratch.ipynb');

    // Delete removes it and goes back to the list.
    await sidebar.locator('.jp-mlnb-DeleteButton').click();
    await page.locator('.jp-Dialog button', { hasText: 'Delete' }).click();
    await expect(sidebar.locator('.jp-mlnb-RunsTable')).toBeVisible();
    await expect(sidebar.locator('.jp-mlnb-RunRow')).toHaveCount(3);
    await expect(row(sidebar, 'scratch.ipynb')).toHaveCount(0);
  });

  test('a cell executed in Lab updates its badge', async ({ page }) => {
    await openNotebook(page, 'tune.ipynb');
    const badge = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-mlnb-CellBadge');
    await expect(badge).toHaveText(/acc 0\.6705/);
    const before = await badge.getAttribute('data-run-id');

    // Run the notebook in the kernel: a new run (lr defaults to 0.1) logs new values.
    await page.notebook.run();
    await expect(badge).toHaveText(/acc 0\.9611 · loss 0\.0778/, { timeout: 30000 });
    const after = await badge.getAttribute('data-run-id');
    expect(after).toBeTruthy();
    expect(after).not.toEqual(before);

    // The new run is in the sidebar after a refresh.
    const sidebar = await openExperiments(page);
    await sidebar.locator('.jp-mlnb-RefreshButton').click();
    await expect(sidebar.locator(`.jp-mlnb-RunRow[data-run-id="${after}"]`)).toHaveCount(1);
    await expect(
      sidebar.locator(`.jp-mlnb-RunRow[data-run-id="${after}"] .jp-mlnb-col-metric`).first()
    ).toHaveText('0.9611');
  });
});
