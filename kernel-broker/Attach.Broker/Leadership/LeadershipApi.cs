using System.Globalization;
using Attach.Broker.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Leadership;

/// <summary>
/// <c>GET /api/v1/leader</c> (any broker: who leads), the <c>attach_broker_leader</c> metrics, and the gate that
/// makes a broker that does not lead refuse every other request with a 503 problem that names the leader.
/// </summary>
internal static class LeadershipApi
{
    public const string Path = "/api/v1/leader";

    /// <summary>
    /// Refuses, with 503 and a problem that says which broker leads, every request a broker that does not lead must
    /// not answer: every decision and every read of state it does not hold. Only <see cref="Path"/> and
    /// <c>/metrics</c> pass. Place after authentication and authorization, so anonymous callers still get 401.
    /// </summary>
    public static IApplicationBuilder UseLeadershipGate(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var leadership = app.ApplicationServices.GetRequiredService<BrokerLeadership>();
        var interval = app.ApplicationServices.GetRequiredService<IOptions<LeadershipOptions>>().Value.Interval;
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(LeadershipApi));
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (leadership.IsLeader || path.StartsWithSegments(Path) || path.StartsWithSegments(MetricsExtensions.Path))
            {
                await next(context);
                return;
            }

            Log.RefusedAsFollower(logger, leadership.BrokerId, context.Request.Method, path.Value ?? "");
            await Refusal(leadership, interval).ExecuteAsync(context);
        });
    }

    public static IEndpointRouteBuilder MapLeadershipApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet(Path, Get).WithTags("Leadership");
        if (app.ServiceProvider.GetService<BrokerMetrics>() is { } metrics)
        {
            var leadership = app.ServiceProvider.GetRequiredService<BrokerLeadership>();
            var factory = Prometheus.Metrics.WithCustomRegistry(metrics.Registry);
            var leading = factory.CreateGauge("attach_broker_leader", "1 while this broker makes the scheduling decisions (leads), 0 while it follows or was deposed.");
            var term = factory.CreateGauge("attach_broker_leader_term", "The term of the leader this broker last saw (goes up by one at every takeover; 0: none).");
            metrics.Registry.AddBeforeCollectCallback(() =>
            {
                leading.Set(leadership.IsLeader ? 1 : 0);
                term.Set(leadership.Leader?.Term ?? 0);
            });
        }

        return app;
    }

    internal static Ok<LeaderView> Get(BrokerLeadership leadership, CancellationToken cancellationToken) =>
        TypedResults.Ok(new LeaderView(leadership.BrokerId, leadership.Role.ToString(), leadership.IsLeader, leadership.Elected, leadership.Leader, leadership.Reason));

    private static ProblemHttpResult Refusal(BrokerLeadership leadership, TimeSpan interval)
    {
        var leader = leadership.Leader;
        var who = leader is null
            ? "no broker leads yet"
            : $"broker {leader.BrokerId} leads (term {leader.Term.ToString(CultureInfo.InvariantCulture)}{(leader.Url is null ? "" : $", at {leader.Url}")})";
        var (title, detail) = leadership.Role == LeadershipRole.Deposed
            ? ("Broker no longer leads",
                $"Broker {leadership.BrokerId} lost the lead ({leadership.Reason}) and refuses every decision until it is restarted; {who}. Send the request there.")
            : ("Broker is a follower",
                $"Broker {leadership.BrokerId} does not lead, so it makes no decisions; {who}. Send the request there, or retry here: a follower takes over within about {interval.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s of the leader going away.");
        var extensions = new Dictionary<string, object?>
        {
            ["brokerId"] = leadership.BrokerId,
            ["role"] = leadership.Role.ToString(),
            ["leader"] = leader,
        };
        return TypedResults.Problem(detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: title, extensions: extensions);
    }
}
