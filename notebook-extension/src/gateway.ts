// Where the Attach gateway's own routes live (/hubs/attach, /attach/api/v1): at the gateway's root, which is not
// always JupyterLab's base URL. In the gateway's multi-user mode (and behind JupyterHub) each user's server runs
// under /user/{name}/, and /user/{name}/hubs/attach would reach the user's Jupyter Server, not the hub.

/** The gateway's root for a JupyterLab base URL: the base URL without a trailing `user/{name}/`. */
export function gatewayRoot(baseUrl: string): string {
  const withSlash = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const match = /^(.*\/)user\/[^/]+\/$/.exec(withSlash);
  return match ? match[1] : withSlash;
}
