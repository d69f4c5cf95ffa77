/**
 * The one way the frontend talks to the mlnb server extension.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IErrorBody } from './tokens';

/** Base path of the mlnb REST API, relative to the server's base URL. */
export const API_NAMESPACE = 'mlnb/api';

/**
 * An error answered by the mlnb API (or the network), carrying the HTTP
 * status and the server's message (which may span lines: filter errors end
 * with a caret line).
 */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string = ''
  ) {
    super(message);
    this.name = 'APIError';
  }
}

/**
 * Build a query string from defined, non-empty values.
 */
export function query(params: {
  [key: string]: string | number | null | undefined;
}): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    parts.push(
      `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
    );
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/**
 * Call an mlnb API endpoint and return its decoded JSON body.
 *
 * @param endPoint path under `{base_url}mlnb/api/`, with its query string
 * @param init fetch options (method, body)
 * @param settings server settings (defaults to the page's)
 * @throws APIError with the server's message for any non-2xx answer
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new APIError(
      `Could not reach the mlnb server extension: ${String(error)}`,
      0,
      'network'
    );
  }

  const text = await response.text();
  let data: unknown = undefined;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }

  if (!response.ok) {
    const body = (data ?? {}) as Partial<IErrorBody>;
    let message =
      typeof body.message === 'string' && body.message
        ? body.message
        : `${response.status} ${response.statusText || 'error'}`;
    if (response.status === 404 && data === undefined) {
      message =
        'The mlnb server extension is not enabled (404 from ' +
        `${API_NAMESPACE}/${endPoint.split('?')[0]}).`;
    }
    throw new APIError(message, response.status, body.reason ?? '');
  }
  return data as T;
}
