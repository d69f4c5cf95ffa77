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
