// The floating GPU badge the Attach gateway injects into the pages it proxies (Notebook 6, code-server, any
// other). It finds the page's kernels without the host app's help, follows their GPU state live over the
// gateway's hub, and keeps to itself: a shadow root for its markup and styles, and one global, window.attachBadge.
import { KernelHub } from './hub.js';
import { describe, stateWord } from './format.js';

const HUB_URL = '/hubs/attach';
const KERNELS_URL = '/attach/api/v1/kernels';
// Which state the badge shows when a page has several kernels: the one a person most needs to know about.
const PRIORITY = ['failed', 'queued', 'attaching', 'resuming', 'attached', 'suspending', 'releasing', 'suspended', 'detached'];

const STYLE = `
:host { all: initial; }
.badge { display: flex; align-items: center; gap: 6px; max-width: 420px; padding: 4px 10px; border-radius: 14px;
  font: 12px/18px system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; background: #f6f8fa;
  border: 1px solid #d0d7de; box-shadow: 0 1px 3px rgba(0,0,0,.15); cursor: pointer; user-select: none; }
.dot { flex: none; width: 8px; height: 8px; border-radius: 50%; background: #8c959f; }
.text { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.label { font-weight: 600; }
[data-state="attached"] .dot { background: #1a7f37; }
[data-state="queued"] .dot, [data-state="attaching"] .dot, [data-state="resuming"] .dot { background: #bf8700; }
[data-state="suspended"] .dot, [data-state="suspending"] .dot, [data-state="releasing"] .dot { background: #0969da; }
[data-state="failed"] .dot { background: #cf222e; }
[data-state="unavailable"] { color: #57606a; }
[data-state="unavailable"] .dot { background: transparent; border: 1px dashed #8c959f; }
[data-state="signin"] { color: #57606a; }
[data-state="signin"] .dot { background: transparent; border: 1px dashed #cf222e; }
.details { margin: 4px 0 0; padding: 6px 10px; list-style: none; max-width: 420px; border-radius: 8px;
  font: 12px/18px system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; background: #fff;
  border: 1px solid #d0d7de; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
.details[hidden] { display: none; }
.details code { font: 11px ui-monospace, monospace; color: #57606a; }
`;

// A JupyterLab page that loads the attach-jupyterlab extension already shows the GPU state in its status bar;
// a second, floating badge there would only repeat it (and cover the status bar's right end).
function pageHasLabExtension() {
  const config = document.getElementById('jupyter-config-data');
  if (!config) {
    return false;
  }
  try {
    const extensions = JSON.parse(config.textContent || '{}').federated_extensions || [];
    return extensions.some((extension) => extension && extension.name === 'attach-jupyterlab');
  } catch {
    return false;
  }
}

// The base URL of the page's server when it sits behind a JupyterHub route (/user/{name}/…, a named server's
// /user/{name}/{server}/…, under any hub base_url), else null. The page says its own base URL (Notebook 6's
// data-base-url, Jupyter Server front ends' jupyter-config-data) when it is one; otherwise the /user/{name}/ part.
function hubRouteBase() {
  const hub = location.pathname.match(/^(.*?\/user\/[^/]+\/)/);
  if (!hub) {
    return null;
  }
  let declared = document.body && document.body.getAttribute('data-base-url');
  if (!declared) {
    try {
      const config = document.getElementById('jupyter-config-data');
      declared = config ? JSON.parse(config.textContent || '{}').baseUrl : null;
    } catch {
      declared = null;
    }
  }
  return typeof declared === 'string' && declared.startsWith(hub[1]) && location.pathname.startsWith(declared) ? declared : hub[1];
}

// Jupyter's XSRF token, for servers that check it on cookie-authenticated fetches (JupyterHub's single-user servers).
function xsrfHeaders() {
  const match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return match ? { 'X-XSRFToken': decodeURIComponent(match[1]) } : {};
}

function start() {
  if (window.attachBadge || pageHasLabExtension()) {
    return;
  }

  const statuses = new Map();
  let kernelIds = [];
  let available = false;
  // Behind a JupyterHub route the gateway has no identity for the user until the route's server vouches for them;
  // when that server refuses, the user has to sign in through JupyterHub, and the badge says so instead of retrying.
  const hubBase = hubRouteBase();
  let signInNeeded = false;
  let identifying = null;

  const host = document.createElement('div');
  host.setAttribute('data-attach-badge', '');
  // Fixed and on top, outside the page's flow: the host page's layout does not move.
  host.style.cssText = 'all: initial; position: fixed; right: 12px; bottom: 12px; z-index: 2147483000;';
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = `<style>${STYLE}</style>
    <div class="badge" role="status" aria-live="polite" title="GPU state of this page's kernel (Attach)">
      <span class="dot"></span><span class="text"><span class="label">GPU</span> · <span class="value">connecting…</span></span>
    </div>
    <ul class="details" hidden></ul>`;
  const badge = root.querySelector('.badge');
  const value = root.querySelector('.value');
  const details = root.querySelector('.details');
  badge.addEventListener('click', () => {
    details.hidden = !details.hidden;
  });

  function overall() {
    if (signInNeeded) {
      return 'signin';
    }
    if (!available) {
      return 'unavailable';
    }
    const words = kernelIds.map((id) => (statuses.has(id) ? stateWord(statuses.get(id)) : 'detached'));
    return PRIORITY.find((p) => words.includes(p)) || 'detached';
  }

  function render() {
    const state = overall();
    const now = Date.now();
    badge.setAttribute('data-state', state);
    host.setAttribute('data-state', state);
    if (state === 'signin') {
      value.textContent = 'sign in through JupyterHub';
    } else if (state === 'unavailable') {
      value.textContent = 'status unavailable';
    } else if (kernelIds.length === 0) {
      value.textContent = 'detached · no kernel';
    } else {
      const shown = kernelIds.map((id) => statuses.get(id)).find((s) => s && stateWord(s) === state);
      const text = shown ? describe(shown, now) : describe({ state: 'Detached' }, now);
      value.textContent = kernelIds.length > 1 ? `${text} (+${kernelIds.length - 1} more)` : text;
    }
    details.replaceChildren(...kernelIds.map((id) => {
      const li = document.createElement('li');
      const code = document.createElement('code');
      code.textContent = id.slice(0, 8);
      const status = statuses.get(id);
      li.append(code, ` ${available && status ? describe(status, now) : 'status unavailable'}`);
      return li;
    }));
    if (kernelIds.length === 0) {
      const li = document.createElement('li');
      li.textContent = 'No kernel on this page yet.';
      details.replaceChildren(li);
    }
  }

  // Asks the page's JupyterHub route for the gateway identity of its user (one request at a time). Resolves true
  // when the gateway signed the browser in; false otherwise, with signInNeeded set when the route's server refused.
  function identify() {
    if (!hubBase || signInNeeded) {
      return Promise.resolve(false);
    }
    if (!identifying) {
      identifying = (async () => {
        try {
          const response = await fetch(`${hubBase}.attach/identity`, { method: 'POST', credentials: 'same-origin', headers: xsrfHeaders() });
          if (response.status === 403) {
            signInNeeded = true;
            render();
          }
          return response.ok;
        } catch {
          return false;
        } finally {
          identifying = null;
        }
      })();
    }
    return identifying;
  }

  const hub = new KernelHub(HUB_URL, {
    onStatus(status) {
      statuses.set(status.kernelId, status);
      render();
    },
    onAvailability(isAvailable) {
      available = isAvailable;
      render();
    },
    async onUnauthorized() {
      await identify();
      return !signInNeeded;
    },
  });

  function fetchKernels() {
    return fetch(KERNELS_URL, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  }

  async function discover() {
    // Notebook 6 says which kernel its page runs.
    const notebook = window.Jupyter && window.Jupyter.notebook;
    if (notebook) {
      return notebook.kernel && notebook.kernel.id ? [notebook.kernel.id] : [];
    }
    // A notebook or file page of Jupyter Server (JupyterLab, Notebook 7, RetroLab): its session, by path.
    const page = location.pathname.match(/^(.*?\/)(?:notebooks|lab\/tree|doc\/tree|lab\/workspaces\/[^/]+\/tree|edit)\/(.+)$/);
    if (page) {
      const base = (document.body && document.body.getAttribute('data-base-url')) || page[1];
      const response = await fetch(`${base}api/sessions`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (response.ok) {
        const path = decodeURIComponent(page[2]);
        const sessions = await response.json();
        return sessions.filter((s) => s.kernel && (s.path === path || (s.notebook && s.notebook.path === path))).map((s) => s.kernel.id);
      }
    }
    // Anything else (code-server, a dashboard app): every kernel of the user's the broker knows.
    let response = await fetchKernels();
    if (response.status === 401 && (await identify())) {
      response = await fetchKernels();
    }
    return response.ok ? (await response.json()).map((k) => k.kernelId) : kernelIds;
  }

  async function poll() {
    try {
      const ids = await discover();
      if (ids.join(',') !== kernelIds.join(',')) {
        kernelIds = ids;
        for (const id of [...statuses.keys()]) {
          if (!ids.includes(id)) {
            statuses.delete(id);
          }
        }
        await hub.setKernels(ids);
        render();
      }
    } catch {
      // Discovery failed this round (the server restarts, the user logged out); the next round tries again.
    }
    if (!signInNeeded) {
      setTimeout(poll, window.Jupyter ? 1500 : 5000);
    }
  }

  document.documentElement.appendChild(host);
  render();
  hub.start();
  poll();
  // The idle-release countdown moves by the second.
  setInterval(() => {
    if (statuses.size > 0) {
      render();
    }
  }, 1000);

  window.attachBadge = Object.freeze({
    version: '1',
    /** The state the badge shows: unavailable, signin, detached, queued, attaching, attached, suspended, failed, … */
    state: () => overall(),
    /** The text the badge shows. */
    text: () => value.textContent,
    /** The kernels the badge follows. */
    kernels: () => [...kernelIds],
  });
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start, { once: true });
} else {
  start();
}
