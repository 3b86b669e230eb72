// The broker's user API through the gateway (/attach/api/v1). Requests go with the session cookie from this
// origin (the gateway refuses cookie-authenticated writes from other origins) and JupyterLab's XSRF header.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { describeFailure } from './problem';

/** What the next attach of a kernel should get: a named profile or an amount of device memory. */
export type SlicePreference = { profile: string } | { memoryMiB: number };

/** The choices the panel offers; "default" clears nothing and sends nothing. */
export const SliceChoices: ReadonlyArray<{ label: string; value: SlicePreference }> = [
  { label: '10 GiB', value: { memoryMiB: 10240 } },
  { label: '20 GiB', value: { memoryMiB: 20480 } },
  { label: '40 GiB', value: { memoryMiB: 40960 } },
  { label: 'Half a GPU', value: { profile: 'half' } },
  { label: 'Whole GPU', value: { profile: 'full' } }
];

/** A failed call, with the server's own words (RFC 7807 title/detail) when it gave any. */
export class AttachApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

export class AttachApi {
  constructor(private readonly _settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** Releases the kernel's GPU now (the kernel keeps running). */
  release(kernelId: string): Promise<void> {
    return this._send(`kernels/${encodeURIComponent(kernelId)}/release`, 'POST', { reason: 'released from JupyterLab' });
  }

  /** Sets the slice the kernel's next attach asks for. */
  setSlicePreference(kernelId: string, preference: SlicePreference): Promise<void> {
    return this._send(`kernels/${encodeURIComponent(kernelId)}/slice-preference`, 'PUT', preference);
  }

  private async _send(path: string, method: string, body: unknown): Promise<void> {
    const url = URLExt.join(this._settings.baseUrl, 'attach/api/v1', path);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        { method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } },
        this._settings
      );
    } catch (error) {
      throw new AttachApiError(`The gateway could not be reached: ${(error as Error).message}`, 0);
    }
    if (!response.ok) {
      throw new AttachApiError(await describeFailure(response), response.status);
    }
  }
}
