using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Attach.ServiceDefaults.Logging;

/// <summary>Serilog as the logging provider for every Attach service.</summary>
public static class AttachLogging
{
    /// <summary>
    /// Readable console lines by default; one JSON object per line (CLEF) when <c>Logging:Format</c> is
    /// <c>json</c>. Framework categories that print URLs with query strings (and so tokens) are held at
    /// Warning: secrets must never reach a log.
    /// </summary>
    public static WebApplicationBuilder AddAttachLogging(this WebApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var json = string.Equals(builder.Configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase);
        builder.Services.AddSerilog((services, logger) =>
        {
            logger
                .MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
                .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning)
                .MinimumLevel.Override("Yarp", LogEventLevel.Warning)
                .MinimumLevel.Override("Polly", LogEventLevel.Warning)
                // Authentication handlers log every challenge at Information; a refused request is not news.
                .MinimumLevel.Override("Attach.ServiceDefaults.Security", LogEventLevel.Warning)
                .MinimumLevel.Override("Attach.Gateway.Security", LogEventLevel.Warning)
                .ReadFrom.Configuration(builder.Configuration)
                .Enrich.FromLogContext()
                .Enrich.WithProperty("Service", serviceName);
            if (json)
            {
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
            }
            else
            {
                logger.WriteTo.Console(
                    outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Service}: {Message:lj}{NewLine}{Exception}",
                    formatProvider: System.Globalization.CultureInfo.InvariantCulture);
            }
        });
        return builder;
    }
}
