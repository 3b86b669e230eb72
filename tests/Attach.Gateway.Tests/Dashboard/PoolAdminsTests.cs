using System.Security.Claims;
using Attach.Gateway.Dashboard;
using Attach.Gateway.Security;
using Attach.Gateway.Users;
using Microsoft.Extensions.Options;
using Moq;

namespace Attach.Gateway.Tests.Dashboard;

public sealed class PoolAdminsTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"attach-users-{Guid.NewGuid():N}.json");

    [Fact]
    public void A_user_the_users_file_marks_admin_sees_the_whole_pool_and_one_it_does_not_mark_sees_their_own()
    {
        var admins = new PoolAdmins(Options(), UsersFromFile());

        Assert.True(admins.IsAdmin(SignedIn("ada", UsersFileAdmin("ada"))));
        Assert.False(admins.IsAdmin(SignedIn("bob", UsersFileAdmin("bob"))));
    }

    [Fact]
    public void Gateway_admins_still_makes_a_user_an_admin_whatever_the_users_file_says()
    {
        var admins = new PoolAdmins(Options("bob"), UsersFromFile());

        Assert.True(admins.IsAdmin(SignedIn("bob", UsersFileAdmin("bob"))));
        Assert.True(admins.IsAdmin(SignedIn("ada", UsersFileAdmin("ada"))));
    }

    [Fact]
    public void The_admin_role_alone_does_not_make_an_admin_when_the_users_file_does_not_say_so()
    {
        var admins = new PoolAdmins(Options(), UsersFromFile());

        // bob is no admin in the file; a principal claiming the role for him (a stale cookie) is not believed.
        Assert.False(admins.IsAdmin(SignedIn("bob", admin: true)));
    }

    [Fact]
    public void The_one_user_of_single_user_mode_is_an_admin_only_when_gateway_admins_names_them()
    {
        var single = UserDirectory.SingleUser(new GatewayOptions { User = "ada", Token = "t", JupyterUrl = new Uri("http://127.0.0.1:8888/") });
        var ada = SignedIn("ada", admin: true);

        Assert.False(new PoolAdmins(Options(), single).IsAdmin(ada));
        Assert.True(new PoolAdmins(Options("ada"), single).IsAdmin(ada));
    }

    public void Dispose() => File.Delete(_file);

    private UserDirectory UsersFromFile()
    {
        var hash = TokenHash.Create(new string('t', 40), TokenHash.MinIterations);
        File.WriteAllText(_file, $$"""
            { "users": [
              { "name": "ada", "tokenHash": "{{hash}}", "admin": true, "jupyter": { "url": "http://127.0.0.1:9001/user/ada/", "token": "j1" } },
              { "name": "bob", "tokenHash": "{{hash}}", "jupyter": { "url": "http://127.0.0.1:9002/user/bob/", "token": "j2" } }
            ] }
            """);
        return UserDirectory.MultiUser(UsersFile.Load(_file, jwtConfigured: false));
    }

    private bool UsersFileAdmin(string name) =>
        UsersFile.Load(_file, jwtConfigured: false).Single(u => u.Name == name).Admin;

    private static ClaimsPrincipal SignedIn(string name, bool admin) => UserPrincipal.For(name, admin, GatewayAuthDefaults.TokenScheme);

    private static IOptionsMonitor<GatewayOptions> Options(params string[] admins)
    {
        var monitor = new Mock<IOptionsMonitor<GatewayOptions>>();
        monitor.Setup(m => m.CurrentValue).Returns(new GatewayOptions { Admins = [.. admins] });
        return monitor.Object;
    }
}
