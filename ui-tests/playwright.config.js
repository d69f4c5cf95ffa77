/**
 * Galata/Playwright configuration for the mlnb browser tests.
 *
 * Run through ./run.sh, which prepares the project folder, the PATH (the venv's
 * jupyter) and MLNB_UI_ROOT. The browser is the system Chromium: nothing is
 * downloaded (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1, never `playwright install`).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = Number(process.env.MLNB_UI_PORT || 8899);
const baseURL = `http://127.0.0.1:${port}`;

module.exports = {
  ...baseConfig,
  testDir: './tests',
  outputDir: './test-results',
  timeout: 60 * 1000,
  expect: { timeout: 15 * 1000 },
  retries: 0,
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    baseURL,
    // Video needs a downloaded ffmpeg: off. Traces and screenshots work.
    video: 'off',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    }
  },
  webServer: {
    command: 'jlpm start',
    url: `${baseURL}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe'
  }
};
