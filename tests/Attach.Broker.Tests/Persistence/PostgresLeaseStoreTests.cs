using System.Net;
using System.Net.Sockets;
using Attach.Broker.Persistence;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Tests.Persistence;

/// <summary>Choosing and reaching the PostgreSQL store, where no server is needed to see what goes wrong.</summary>
public sealed class PostgresLeaseStoreTests
{
    private const string Password = "s3cret-password-never-logged";

    [Fact]
    public void Open_NothingListensThere_FailsNamingTheSettingAndTheServerButNotThePassword()
    {
        var port = UnusedPort();

        var refused = Assert.Throws<InvalidOperationException>(() =>
            PostgresLeaseStore.Open($"Host=127.0.0.1;Port={port};Database=attach;Username=broker;Password={Password};Timeout=5"));

        Assert.Contains("Broker:Store:ConnectionString", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"PostgreSQL 127.0.0.1:{port}/attach (user broker)", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Open_AStringNpgsqlCannotRead_SaysHowToWriteItWithoutQuotingIt()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => PostgresLeaseStore.Open($"Host=db;Pasword={Password}"));

        Assert.Contains("Broker:Store:ConnectionString", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Options_PostgresWithoutAConnectionString_AreRefusedNamingTheSetting()
    {
        var options = new StoreOptions { Kind = StoreKind.Postgres };

        var result = new DataAnnotationValidateOptions<StoreOptions>(null).Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Broker:Store:ConnectionString is required when Broker:Store:Kind is Postgres", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Broker_WhoseDatabaseCannotBeReached_DoesNotStartAndSaysWhichSettingToFix()
    {
        var port = UnusedPort();
        await using var app = new App(("Broker:Store:Kind", "Postgres"), ("Broker:Store:ConnectionString", $"Host=127.0.0.1;Port={port};Database=attach;Username=broker;Password={Password};Timeout=5"));

        var failed = Assert.ThrowsAny<Exception>(() => app.CreateClient());

        var error = Find(failed);
        Assert.NotNull(error);
        Assert.Contains("cannot reach its store", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, failed.ToString(), StringComparison.Ordinal);
    }

    /// <summary>The store's error, however the host wraps it.</summary>
    private static InvalidOperationException? Find(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is InvalidOperationException found && found.Message.Contains("Broker:Store:ConnectionString", StringComparison.Ordinal))
            {
                return found;
            }
        }

        return null;
    }

    private static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class App(params (string Key, string Value)[] settings) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Attach:InternalKey", "test-internal-key-0123456789abcdefghijkl");
            builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        }
    }
}
