# JupyterHub with the Attach gateway as its proxy, in place of configurable-http-proxy.
#
# The gateway speaks configurable-http-proxy's REST API on a private port, so JupyterHub's stock
# ConfigurableHTTPProxy class drives it unchanged: JupyterHub only has to stop starting its own proxy
# and point at the gateway's API. Start the gateway first (see README.md in this folder), with the
# same CONFIGPROXY_AUTH_TOKEN in its environment as in JupyterHub's.
import os

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

# The gateway is started and kept running by you (systemd, a container), not by JupyterHub.
c.ConfigurableHTTPProxy.should_start = False

# The gateway's configurable-http-proxy API: Gateway:ConfigurableProxy:Address and :Port.
c.ConfigurableHTTPProxy.api_url = os.environ.get("ATTACH_PROXY_API_URL", "http://127.0.0.1:8001")

# The shared secret of that API. JupyterHub reads CONFIGPROXY_AUTH_TOKEN from its environment by
# default; it is set here explicitly so a missing variable fails loudly instead of silently.
c.ConfigurableHTTPProxy.auth_token = os.environ["CONFIGPROXY_AUTH_TOKEN"]

# The public URL users open is the gateway's public port (its --urls); JupyterHub's own bind_url is
# what the hub tells the proxy about, so keep it the gateway's address.
c.JupyterHub.bind_url = os.environ.get("ATTACH_PUBLIC_URL", "http://127.0.0.1:8000")

# The hub itself listens privately; the gateway's "/" route (added by JupyterHub) points at it.
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = 8081
