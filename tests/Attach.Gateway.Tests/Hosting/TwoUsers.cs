using System.Text.Json;
using Attach.Gateway.Users;

namespace Attach.Gateway.Tests.Hosting;

/// <summary>
/// A gateway in multi-user mode with two users, each with their own (recording) Jupyter backend under
/// base_url /user/{name}/; ada also has a code-server.
/// </summary>
internal sealed class TwoUsers : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("attach-users-").FullName;

    private TwoUsers(RecordingBackend adaJupyter, RecordingBackend bobJupyter, RecordingBackend adaCode)
    {
        AdaJupyter = adaJupyter;
        BobJupyter = bobJupyter;
        AdaCodeServer = adaCode;
    }

    public string AdaToken { get; } = GatewayFactory.Secret();

    public string BobToken { get; } = GatewayFactory.Secret();

    public string AdaJupyterToken { get; } = GatewayFactory.Secret();

    public string BobJupyterToken { get; } = GatewayFactory.Secret();

    public RecordingBackend AdaJupyter { get; }

    public RecordingBackend BobJupyter { get; }

    public RecordingBackend AdaCodeServer { get; }

    public string UsersFilePath => Path.Combine(_directory, "users.json");

    public IEnumerable<RecordingBackend> Backends => [AdaJupyter, BobJupyter, AdaCodeServer];

    public static async Task<TwoUsers> StartAsync()
    {
        var users = new TwoUsers(
            await RecordingBackend.StartAsync("ada-jupyter"),
            await RecordingBackend.StartAsync("bob-jupyter"),
            await RecordingBackend.StartAsync("ada-code"));
        users.AdaJupyter.PageSecret = users.AdaJupyterToken;
        users.WriteUsersFile();
        return users;
    }

    /// <summary>Settings for the gateway; <paramref name="extra"/> adds to them.</summary>
    public Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["Gateway:UsersFile"] = UsersFilePath };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private void WriteUsersFile()
    {
        var document = new
        {
            users = new object[]
            {
                new
                {
                    name = "ada",
                    tokenHash = TokenHash.Create(AdaToken, TokenHash.MinIterations),
                    admin = true,
                    jupyter = new { url = new Uri(AdaJupyter.Url, "user/ada/").ToString(), token = AdaJupyterToken },
                    codeServer = new { url = AdaCodeServer.Url.ToString() },
                },
                new
                {
                    name = "bob",
                    tokenHash = TokenHash.Create(BobToken, TokenHash.MinIterations),
                    jupyter = new { url = new Uri(BobJupyter.Url, "user/bob/").ToString(), token = BobJupyterToken },
                },
            },
        };
        File.WriteAllText(UsersFilePath, JsonSerializer.Serialize(document));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var backend in Backends)
        {
            await backend.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }
}
