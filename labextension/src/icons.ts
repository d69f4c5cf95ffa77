/**
 * The Experiments icon (a flask), themed through JupyterLab's icon classes.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const flaskSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M9 2h6v2h-1v5.2l5.6 9.3A2.3 2.3 0 0 1 17.6 22H6.4a2.3 2.3 0 0 1-2-3.5L10 9.2V4H9V2zm3 9.1L8.6 16.8h6.8L12 11.1z"/>
</svg>`;

export const experimentsIcon = new LabIcon({
  name: 'mlnb:experiments',
  svgstr: flaskSvg
});

const pipelineSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M3 4h6v4H3V4zm12 0h6v4h-6V4zM9 16h6v4H9v-4zM6 8h2v3h8V8h2v5h-5v3h-2v-3H6V8z"/>
</svg>`;

/** The Pipeline sidebar's icon (stages joined into a small graph). */
export const pipelineIcon = new LabIcon({
  name: 'mlnb:pipeline',
  svgstr: pipelineSvg
});

const diffSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M4 3h7v2H4v14h7v2H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm9 0h7a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2h-7v-2h7V5h-7V3zM5 11h5v2H5v-2zm11.5-3h1v2.5H20v1h-2.5V14h-1v-2.5H14v-1h2.5V8z"/>
</svg>`;

/** The notebook diff view's icon. */
export const diffIcon = new LabIcon({ name: 'mlnb:diff', svgstr: diffSvg });

const paramsSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M3 5h9v2H3V5zm13 0h5v2h-5v2h-2V3h2v2zM3 11h3V9h2v6H6v-2H3v-2zm7 0h11v2H10v-2zM3 17h7v2H3v-2zm11-2h2v2h5v2h-5v2h-2v-6z"/>
</svg>`;

/** "Run this notebook with parameters…" (sliders). */
export const paramsIcon = new LabIcon({ name: 'mlnb:params', svgstr: paramsSvg });

const checkpointDiffSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M12 3a9 9 0 1 1-8.5 6h2.2A7 7 0 1 0 12 5V3zm-1 4h2v5.4l3.6 2.1-1 1.7L11 13.6V7zM3 3l4 1-3 3-1-4z"/>
</svg>`;

/** "Diff against the last checkpoint" (a clock). */
export const checkpointDiffIcon = new LabIcon({
  name: 'mlnb:checkpoint-diff',
  svgstr: checkpointDiffSvg
});
