/**
 * A metric's history as a small line chart: a Vega-Lite spec rendered by
 * JupyterLab's own Vega renderer through the rendermime registry, or, when
 * that renderer is missing or fails, a plain SVG drawn with DOM APIs.
 */
import { MimeModel, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import React, { useEffect, useRef, useState } from 'react';

import { IMetricPoint, Ids } from './tokens';
import { formatValue, metricChartSpec } from './utils';

const SVG_NS = 'http://www.w3.org/2000/svg';

export interface IMetricChartProps {
  runId: string;
  metricKey: string;
  /** Changes when new points were logged, to re-fetch. */
  version: number;
  rendermime: IRenderMimeRegistry | null;
  load: (runId: string, key: string) => Promise<{ points: IMetricPoint[] }>;
}

type ChartState =
  | { phase: 'loading' }
  | { phase: 'error'; message: string }
  | { phase: 'done'; renderer: 'vega' | 'svg'; points: number };

/**
 * Changes when JupyterLab switches between a light and a dark theme (the Vega
 * renderer picks its theme when it draws, so charts are redrawn then).
 */
function useThemeKey(): string {
  const read = () => document.body.dataset.jpThemeLight ?? '';
  const [key, setKey] = useState(read);
  useEffect(() => {
    const observer = new MutationObserver(() => setKey(read()));
    observer.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-light']
    });
    return () => observer.disconnect();
  }, []);
  return key;
}

export function MetricChart(props: IMetricChartProps): JSX.Element {
  const { runId, metricKey, version, rendermime, load } = props;
  const host = useRef<HTMLDivElement>(null);
  const themeKey = useThemeKey();
  const [state, setState] = useState<ChartState>({ phase: 'loading' });

  useEffect(() => {
    let cancelled = false;
    let widget: IRenderMime.IRenderer | null = null;

    const run = async () => {
      const node = host.current;
      if (!node) {
        return;
      }
      let points: IMetricPoint[];
      try {
        points = (await load(runId, metricKey)).points;
      } catch (error) {
        if (!cancelled) {
          setState({
            phase: 'error',
            message: error instanceof Error ? error.message : String(error)
          });
        }
        return;
      }
      if (cancelled) {
        return;
      }
      const width = Math.max(160, (node.clientWidth || 260) - 70);
      if (rendermime && rendermime.mimeTypes.includes(Ids.vegaLiteMime)) {
        try {
          const renderer = rendermime.createRenderer(Ids.vegaLiteMime);
          widget = renderer;
          const model = new MimeModel({
            data: {
              [Ids.vegaLiteMime]: metricChartSpec(
                metricKey,
                points,
                width
              ) as ReadonlyPartialJSONObject
            },
            metadata: {
              [Ids.vegaLiteMime]: {
                embed_options: { actions: false, renderer: 'svg' }
              }
            }
          });
          // The renderer only draws into its own node: host that node directly
          // instead of attaching the widget, so React may remove the DOM
          // before this effect's cleanup runs.
          node.textContent = '';
          node.appendChild(renderer.node);
          await renderer.renderModel(model);
          if (!cancelled) {
            setState({ phase: 'done', renderer: 'vega', points: points.length });
          }
          return;
        } catch (error) {
          console.warn('mlnb: Vega chart failed, drawing SVG instead', error);
          if (widget) {
            widget.dispose();
            widget = null;
          }
          if (cancelled) {
            return;
          }
        }
      }
      node.textContent = '';
      node.appendChild(drawSvgChart(metricKey, points, width + 60));
      setState({ phase: 'done', renderer: 'svg', points: points.length });
    };
    void run();

    return () => {
      cancelled = true;
      if (widget && !widget.isDisposed) {
        widget.node.remove();
        widget.dispose();
      }
    };
  }, [runId, metricKey, version, rendermime, themeKey]);

  return (
    <div
      className="jp-mlnb-MetricChart"
      data-metric={metricKey}
      data-phase={state.phase}
      data-renderer={state.phase === 'done' ? state.renderer : undefined}
      data-points={state.phase === 'done' ? state.points : undefined}
    >
      <div className="jp-mlnb-MetricChart-plot" ref={host} />
      {state.phase === 'loading' && (
        <div className="jp-mlnb-muted">Loading {metricKey}…</div>
      )}
      {state.phase === 'error' && (
        <div className="jp-mlnb-Error">{state.message}</div>
      )}
    </div>
  );
}

/** A dependency-free line chart: axes extremes as text, one polyline. */
export function drawSvgChart(
  key: string,
  points: IMetricPoint[],
  width = 300,
  height = 120
): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'jp-mlnb-SvgChart');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  const title = document.createElementNS(SVG_NS, 'title');
  title.textContent = `History of ${key}`;
  svg.appendChild(title);

  const pad = { left: 44, right: 8, top: 8, bottom: 18 };
  const xs = points.map((p, i) => (p.step === null ? i : p.step));
  const ys = points.map(p => p.value);
  if (points.length === 0) {
    const text = document.createElementNS(SVG_NS, 'text');
    text.setAttribute('x', String(pad.left));
    text.setAttribute('y', String(height / 2));
    text.textContent = 'no points';
    svg.appendChild(text);
    return svg;
  }
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) =>
    pad.left +
    (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const sy = (y: number) =>
    height -
    pad.bottom -
    (y1 === y0 ? 0.5 : (y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);

  const axis = document.createElementNS(SVG_NS, 'path');
  axis.setAttribute('class', 'jp-mlnb-SvgChart-axis');
  axis.setAttribute(
    'd',
    `M${pad.left},${pad.top}V${height - pad.bottom}H${width - pad.right}`
  );
  svg.appendChild(axis);

  const line = document.createElementNS(SVG_NS, 'polyline');
  line.setAttribute('class', 'jp-mlnb-SvgChart-line');
  line.setAttribute(
    'points',
    xs.map((x, i) => `${sx(x).toFixed(1)},${sy(ys[i]).toFixed(1)}`).join(' ')
  );
  svg.appendChild(line);

  const label = (x: number, y: number, text: string, anchor: string) => {
    const t = document.createElementNS(SVG_NS, 'text');
    t.setAttribute('x', String(x));
    t.setAttribute('y', String(y));
    t.setAttribute('text-anchor', anchor);
    t.setAttribute('class', 'jp-mlnb-SvgChart-label');
    t.textContent = text;
    svg.appendChild(t);
  };
  label(pad.left - 4, pad.top + 8, formatValue(y1), 'end');
  label(pad.left - 4, height - pad.bottom, formatValue(y0), 'end');
  label(pad.left, height - 4, formatValue(x0), 'start');
  label(width - pad.right, height - 4, formatValue(x1), 'end');
  return svg;
}
