namespace Attach.Gateway.Dashboard;

/// <summary>The dashboard's page shell; dashboard.js fills it in from the summary and the hub.</summary>
internal static class DashboardHtml
{
    public static string Render(bool scriptBuilt) => scriptBuilt
        ? """
          <!doctype html>
          <html lang="en">
          <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>Attach · GPU pool</title>
          <link rel="stylesheet" href="/attach/static/dashboard.css">
          <script src="/attach/static/dashboard.js" defer></script>
          </head>
          <body>
          <main id="attach-dashboard" aria-live="polite"><p class="muted">Loading the pool…</p></main>
          </body>
          </html>
          """
        : """
          <!doctype html>
          <html lang="en">
          <head><meta charset="utf-8"><title>Attach · GPU pool</title></head>
          <body>
          <main id="attach-dashboard"><p>The dashboard's script is not built. Run <code>make build</code> (it builds notebook-extension/badge), then reload.</p></main>
          </body>
          </html>
          """;
}
