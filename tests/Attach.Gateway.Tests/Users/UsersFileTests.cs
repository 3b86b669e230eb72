using Attach.Gateway.Users;

namespace Attach.Gateway.Tests.Users;

public sealed class UsersFileTests
{
    private static readonly string Hash = TokenHash.Create(new string('t', 40), TokenHash.MinIterations);

    private static UsersFile.Entry Ada(string url = "http://10.0.0.5:8888/user/ada/") => new()
    {
        Name = "ada",
        TokenHash = Hash,
        Jupyter = new UsersFile.Backend { Url = new Uri(url), Token = "jupyter-token" },
    };

    [Theory]
    [InlineData("http://10.0.0.5:8888/user/ada/", "http://10.0.0.5:8888/")]
    [InlineData("http://hub.internal/prefix/user/ada/", "http://hub.internal/prefix/")]
    public void TheRequestPathPassesThrough_SoTheDestinationIsTheUrlWithoutItsUserPrefix(string url, string destination)
    {
        var user = Assert.Single(UsersFile.Parse(new UsersFile.Document { Users = [Ada(url)] }, "users.json", jwtConfigured: false));

        Assert.Equal(new Uri(destination), user.Jupyter.Destination);
        Assert.Equal("/user/ada/", user.Prefix);
    }

    private static readonly Dictionary<string, Action<UsersFile.Entry>> Spoilers = new()
    {
        ["no jupyter"] = e => e.Jupyter = null,
        ["wrong base_url"] = e => e.Jupyter!.Url = new Uri("http://10.0.0.5:8888/"),
        ["no jupyter token"] = e => e.Jupyter!.Token = null,
        ["bad name"] = e => e.Name = "ada/../bob",
        ["plain token"] = e => e.TokenHash = "secret",
        ["no hash"] = e => e.TokenHash = null,
        ["bad code-server"] = e => e.CodeServer = new UsersFile.Backend { Url = new Uri("file:///tmp/x") },
    };

    [Theory]
    [InlineData("no jupyter", "\"jupyter\"")]
    [InlineData("wrong base_url", "base_url=/user/ada/")]
    [InlineData("no jupyter token", "\"token\"")]
    [InlineData("bad name", "\"name\"")]
    [InlineData("plain token", "\"tokenHash\" is not valid")]
    [InlineData("no hash", "\"tokenHash\" is missing")]
    [InlineData("bad code-server", "\"codeServer\"")]
    public void AMistake_StopsTheStartWithAMessageNamingTheUserAndTheField(string mistake, string expected)
    {
        var entry = Ada();
        Spoilers[mistake](entry);

        var error = Assert.Throws<UsersFileException>(() => UsersFile.Parse(new UsersFile.Document { Users = [entry] }, "users.json", jwtConfigured: false));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("user #1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AUserListedTwice_IsRefused()
    {
        var twice = Ada();
        twice.Name = "ADA";
        twice.Jupyter!.Url = new Uri("http://10.0.0.6/user/ADA/");

        var error = Assert.Throws<UsersFileException>(() => UsersFile.Parse(new UsersFile.Document { Users = [Ada(), twice] }, "users.json", jwtConfigured: false));

        Assert.Contains("twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithJwt_AUserMayHaveNoTokenHash()
    {
        var entry = Ada();
        entry.TokenHash = null;

        Assert.Single(UsersFile.Parse(new UsersFile.Document { Users = [entry] }, "users.json", jwtConfigured: true));
    }

    [Fact]
    public void UnknownFieldsAndMissingFiles_AreReported()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{"users":[{"name":"ada","tokenhash":"x","jupyterUrl":"http://x/"}]}""");
            Assert.Contains("not valid", Assert.Throws<UsersFileException>(() => UsersFile.Load(path, false)).Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Contains("does not exist", Assert.Throws<UsersFileException>(() => UsersFile.Load(path, false)).Message, StringComparison.Ordinal);
    }
}
