/**
 * The Data sidebar's icon (a database cylinder), themed through JupyterLab's icon classes.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const dataSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M12 2c4.4 0 8 1.3 8 3v14c0 1.7-3.6 3-8 3s-8-1.3-8-3V5c0-1.7 3.6-3 8-3zm6 12.3c-1.5.8-3.6 1.2-6 1.2s-4.5-.4-6-1.2V17c.3.5 2.4 1.5 6 1.5s5.7-1 6-1.5v-2.7zm0-6c-1.5.8-3.6 1.2-6 1.2s-4.5-.4-6-1.2V11c.3.5 2.4 1.5 6 1.5s5.7-1 6-1.5V8.3zM12 4C8.4 4 6.3 5 6 5.5c.3.5 2.4 1.5 6 1.5s5.7-1 6-1.5C17.7 5 15.6 4 12 4z"/>
</svg>`;

export const dataIcon = new LabIcon({ name: 'mlnb:data', svgstr: dataSvg });
