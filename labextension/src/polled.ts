/**
 * A sidebar that keeps itself fresh while it is shown: its Poll stands by
 * while the panel is hidden (or the page is), starts on first show and
 * reloads at once whenever the panel is shown again.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Poll } from '@lumino/polling';

export abstract class PolledPanel extends ReactWidget {
  constructor(options: PolledPanel.IOptions) {
    super();
    this._poll = new Poll({
      auto: false,
      factory: () => this.reload(),
      frequency: { interval: options.interval, backoff: true, max: 60 * 1000 },
      name: options.name,
      standby: () => !this.isVisible || 'when-hidden'
    });
  }

  /** Reload now (refresh buttons and commands). */
  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    super.dispose();
  }

  /** What one tick of the poll does. */
  protected abstract reload(): Promise<void>;

  /** Milliseconds between reloads while shown. */
  protected setPollInterval(milliseconds: number): void {
    if (this._poll.frequency.interval !== milliseconds) {
      this._poll.frequency = { ...this._poll.frequency, interval: milliseconds };
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._started) {
      this._started = true;
      void this._poll.start();
    }
    void this._poll.refresh();
  }

  private _poll: Poll;
  private _started = false;
}

export namespace PolledPanel {
  export interface IOptions {
    /** The poll's name (for debugging). */
    name: string;
    /** Milliseconds between reloads while shown, at first. */
    interval: number;
  }
}
