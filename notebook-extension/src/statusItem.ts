// The status bar item ("GPU: A100 80GB (simulated), 20 GiB · idle release in 45 s") and the panel a click
// opens: details, Release now, and the slice the next attach asks for.
import { showPopup } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';
import { AttachApi, AttachApiError, SliceChoices } from './api';
import { describe, IStatusView } from './status';
import { ICurrentKernel, KernelStatusTracker } from './tracker';

export class AttachStatusItem extends Widget {
  private _timer: number | undefined;
  private _panel: AttachPanel | null = null;

  constructor(
    private readonly _tracker: KernelStatusTracker,
    private readonly _api: AttachApi
  ) {
    super();
    this.addClass('attach-status-item');
    this.node.setAttribute('role', 'button');
    this.node.setAttribute('aria-haspopup', 'dialog');
    this.node.addEventListener('click', () => this._openPanel());
    _tracker.changed.connect(() => this._render());
    this._render();
  }

  /** What the item shows for the current kernel, or null when no notebook is current (the item hides). */
  static viewOf(current: ICurrentKernel, now: Date): IStatusView | null {
    if (current.kernelId === null) {
      return null;
    }
    if (!current.available) {
      return describe(null, now);
    }
    if (current.status === null) {
      return { label: 'GPU: …', state: 'loading', details: ['Asking the Attach hub for this kernel’s state.'] };
    }
    return describe(current.status, now);
  }

  dispose(): void {
    window.clearInterval(this._timer);
    this._panel?.dispose();
    super.dispose();
  }

  private _render(): void {
    const current = this._tracker.current;
    const view = AttachStatusItem.viewOf(current, new Date());
    this.node.hidden = view === null;
    if (view) {
      this.node.textContent = view.label;
      this.node.dataset.state = view.state;
      this.node.title = view.details.join('\n');
    }
    this._panel?.render(current, view);
    // Countdowns (idle release) tick only while something counts down.
    const ticking = current.status?.state === 'Attached' && !!current.status.releaseAt && !current.status.busy;
    if (ticking && this._timer === undefined) {
      this._timer = window.setInterval(() => this._render(), 1000);
    } else if (!ticking && this._timer !== undefined) {
      window.clearInterval(this._timer);
      this._timer = undefined;
    }
  }

  private _openPanel(): void {
    if (this._panel && !this._panel.isDisposed) {
      // A second click closes it.
      this._panel.dispose();
      return;
    }
    const panel = new AttachPanel(this._api);
    this._panel = panel;
    panel.disposed.connect(() => {
      if (this._panel === panel) {
        this._panel = null;
      }
    });
    const current = this._tracker.current;
    panel.render(current, AttachStatusItem.viewOf(current, new Date()));
    showPopup({ body: panel, anchor: this, align: 'left', hasDynamicSize: true });
  }
}

/** The details panel. Buttons act on the kernel shown when they are clicked. */
export class AttachPanel extends Widget {
  private readonly _heading = document.createElement('h3');
  private readonly _details = document.createElement('div');
  private readonly _release = document.createElement('button');
  private readonly _slice = document.createElement('select');
  private readonly _message = document.createElement('div');
  private _kernelId: string | null = null;

  constructor(private readonly _api: AttachApi) {
    super();
    this.addClass('attach-panel');
    this.node.setAttribute('role', 'dialog');
    this.node.setAttribute('aria-label', 'Attach GPU');
    this._release.className = 'jp-mod-styled jp-mod-warn attach-release';
    this._release.textContent = 'Release now';
    this._release.addEventListener('click', () => void this._releaseNow());

    const label = document.createElement('label');
    label.textContent = 'Next attach: ';
    this._slice.className = 'jp-mod-styled attach-slice';
    const placeholder = new Option('default slice', '');
    this._slice.add(placeholder);
    SliceChoices.forEach((choice, i) => this._slice.add(new Option(choice.label, String(i))));
    this._slice.addEventListener('change', () => void this._applySlice());
    label.appendChild(this._slice);

    this._message.className = 'attach-panel-message';
    this._message.setAttribute('aria-live', 'polite');
    const actions = document.createElement('div');
    actions.className = 'attach-panel-row';
    actions.append(this._release, label);
    this.node.append(this._heading, this._details, actions, this._message);
  }

  render(current: ICurrentKernel, view: IStatusView | null): void {
    if (current.kernelId !== this._kernelId) {
      this._kernelId = current.kernelId;
      this._slice.value = '';
      this._say('', 'info');
    }
    this._heading.textContent = view?.label ?? 'GPU: no notebook kernel';
    this._details.replaceChildren(
      ...(view?.details ?? []).map(line => Object.assign(document.createElement('p'), { textContent: line }))
    );
    const state = current.status?.state;
    this._release.disabled = !(state === 'Attached' || state === 'Suspended' || state === 'Queued');
    this._slice.disabled = current.kernelId === null;
  }

  private async _releaseNow(): Promise<void> {
    const kernelId = this._kernelId;
    if (!kernelId) {
      return;
    }
    this._release.disabled = true;
    try {
      await this._api.release(kernelId);
      this._say('Released.', 'info');
    } catch (error) {
      this._say(`Release failed: ${(error as AttachApiError).message}`, 'error');
      this._release.disabled = false;
    }
  }

  private async _applySlice(): Promise<void> {
    const kernelId = this._kernelId;
    const choice = SliceChoices[Number(this._slice.value)];
    if (!kernelId || this._slice.value === '' || !choice) {
      return;
    }
    try {
      await this._api.setSlicePreference(kernelId, choice.value);
      this._say(`The next attach asks for ${choice.label}.`, 'info');
    } catch (error) {
      this._say(`Slice size not set: ${(error as AttachApiError).message}`, 'error');
    }
  }

  private _say(text: string, kind: 'info' | 'error'): void {
    this._message.textContent = text;
    this._message.dataset.kind = kind;
  }
}
