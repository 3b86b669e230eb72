using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Attach.Agent.Shim;
using Microsoft.Extensions.Logging;

namespace Attach.Agent.Tests.Shim;

/// <summary>
/// Hostile input: the checked-in corpus of nasty cases, and thousands of random and mutated frames from a fixed seed.
/// The agent must answer each bad connection with at most one fatal error, close it, release what it held, never
/// fail itself, and serve a good client afterwards.
/// </summary>
public sealed class ShimFuzzTests
{
    private const int Seed = 0x5EED_0005;
    private const int Iterations = 5000;

    public static TheoryData<string> Corpus => ShimCorpus.Names();

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task CorpusCase_AgentRepliesAsRecordedAndCloses(string name)
    {
        var (bytes, expected) = ShimCorpus.Load(name);
        await using var harness = await ShimHarness.StartAsync();

        var replies = await ExchangeAsync(harness, bytes);

        Assert.Equal(expected, replies.Select(Describe).ToArray());
        Assert.All(replies.Where(reply => reply.Type == ShimMessageType.Error), error => Assert.Equal("1", error["fatal"]));
        Assert.Empty(harness.Broker.Outstanding);
        var violations = harness.ServerLog.Entries.Where(entry => entry.EventId.Id == 606).ToList();
        Assert.Equal(expected.Count(IsErrorCode), violations.Count);
        Assert.All(violations, entry => Assert.Contains($"pid {Environment.ProcessId}", entry.Message));
        await AssertGoodClientServedAsync(harness);
    }

    [Fact]
    public async Task RandomAndMutatedFrames_NeverBreakTheAgent()
    {
        var random = new Random(Seed);
        await using var harness = await ShimHarness.StartAsync();
        harness.Broker.Decide = (request, _, _) => Task.FromResult(harness.Broker.Grant(request with { MemoryMiB = 1024 }));
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);

        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var input = Generate(random);
            IReadOnlyList<ShimMessage> replies;
            try
            {
                replies = await ExchangeAsync(harness, input);
                CheckReplies(input, replies);
                Assert.Empty(harness.Broker.Outstanding);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                Assert.Fail($"Iteration {iteration} (seed {Seed}) broke an invariant: {exception.Message}\nAdd it to Shim/Corpus:\n{ShimCorpus.Format(input)}");
                throw;
            }

            var outcome = replies.Count == 0 ? "closed" : Describe(replies[^1]);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        Assert.DoesNotContain(harness.ServerLog.Entries, entry => entry.Level >= LogLevel.Error);
        Assert.DoesNotContain(harness.LeaseLog.Entries, entry => entry.Level >= LogLevel.Error);
        // The generator reaches deep: past the hello into grants, and into each kind of rejection.
        foreach (var code in new[] { "welcome", "granted", ShimErrorCodes.TooLarge, ShimErrorCodes.Truncated, ShimErrorCodes.UnknownType,
            ShimErrorCodes.BadBody, ShimErrorCodes.HelloRequired, ShimErrorCodes.BadSession, ShimErrorCodes.UnexpectedMessage })
        {
            Assert.True(outcomes.GetValueOrDefault(code) > 0, $"no iteration ended with {code}: {string.Join(", ", outcomes)}");
        }

        await AssertGoodClientServedAsync(harness);
        await harness.WaitForNoConnectionsAsync();
        Assert.Empty(harness.Ledger.Snapshot());
    }

    [Fact]
    public async Task LargestBody_IsAccepted()
    {
        await using var harness = await ShimHarness.StartAsync();
        var fields = Encoding.ASCII.GetBytes("version=1\0session=max\0pad=");
        var body = new byte[ShimFrame.MaxBodyLength];
        fields.CopyTo(body, 0);
        body.AsSpan(fields.Length, body.Length - fields.Length - 1).Fill((byte)'x');
        var frame = new byte[ShimFrame.HeaderLength + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)body.Length);
        frame[4] = (byte)ShimMessageType.Hello;
        body.CopyTo(frame, ShimFrame.HeaderLength);

        var replies = await ExchangeAsync(harness, frame);

        Assert.Equal(["welcome"], replies.Select(Describe));
    }

    /// <summary>Sends the bytes, ends the stream, and collects every reply until the agent closes.</summary>
    private static async Task<IReadOnlyList<ShimMessage>> ExchangeAsync(ShimHarness harness, byte[] input)
    {
        await using var client = await harness.ConnectAsync();
        try
        {
            await client.SendRawAsync(input);
            client.ShutdownSend();
        }
        catch (SocketException exception) when (exception.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.NotConnected)
        {
            // The agent closed first (it rejected the start of the input): what it replied still counts.
        }

        return await client.ReadUntilClosedAsync();
    }

    private static void CheckReplies(byte[] input, IReadOnlyList<ShimMessage> replies)
    {
        if (replies.Count == 0)
        {
            // Only a client that sent nothing is closed without a word.
            Assert.Empty(input);
            return;
        }

        var first = replies[0];
        if (first.Type == ShimMessageType.Welcome)
        {
            Assert.True(input.Length >= ShimFrame.HeaderLength && input[4] == (byte)ShimMessageType.Hello, "welcome without a hello frame first");
        }
        else
        {
            Assert.Equal(ShimMessageType.Error, first.Type);
        }

        Assert.DoesNotContain(replies.Skip(1), reply => reply.Type == ShimMessageType.Welcome);
        for (var i = 0; i < replies.Count; i++)
        {
            if (replies[i].Type == ShimMessageType.Error && replies[i]["fatal"] == "1")
            {
                Assert.True(i == replies.Count - 1, "the agent sent more after a fatal error");
                Assert.False(string.IsNullOrEmpty(replies[i]["message"]));
            }
        }
    }

    private static async Task AssertGoodClientServedAsync(ShimHarness harness)
    {
        await using var client = await harness.HelloAsync("good-client");
        await client.SendAsync(ShimMessageType.RequestLease, ("memory_mib", "1024"));
        await client.ExpectAsync(ShimMessageType.Granted);
        await client.SendAsync(ShimMessageType.Release);
        await client.ExpectAsync(ShimMessageType.Released);
    }

    private static string Describe(ShimMessage message) =>
        message.Type == ShimMessageType.Error ? message["code"]! : message.Type.ToString().ToLowerInvariant();

    private static bool IsErrorCode(string reply) => reply is not ("welcome" or "granted" or "queued" or "released" or "revoke");

    // Generation: mostly near-valid input, since random bytes die at the first check.

    private static readonly string[] Keys = ["version", "session", "pid", "client", "memory_mib", "wait", "x", "env.CUDA_VISIBLE_DEVICES", "", "ver sion", "k=v"];
    private static readonly string[] Values = ["1", "0", "2", "-1", "", "s", "kernel-7f3a", "../x", "99999999999999999999", "1024", " 1", "a\nb", "é", new string('a', 129)];

    private static byte[] Generate(Random random)
    {
        var hello = Frame(ShimMessageType.Hello, ("version", "1"), ("session", "fuzz"));
        return random.Next(10) switch
        {
            0 => RandomBytes(random, random.Next(0, 48)),
            1 => [.. RandomHeader(random), .. RandomBytes(random, random.Next(0, 32))],
            2 or 3 => Mutate(random, hello),
            4 or 5 => [.. hello, .. Mutate(random, RandomClientFrame(random))],
            6 or 7 => [.. hello, .. Enumerable.Range(0, random.Next(1, 5)).SelectMany(_ => RandomClientFrame(random))],
            8 => RandomFieldsFrame(random, (byte)random.Next(0, 6)),
            _ => [.. hello, .. RandomFieldsFrame(random, (byte)random.Next(0, 6))],
        };
    }

    private static byte[] RandomClientFrame(Random random) => random.Next(6) switch
    {
        0 => Frame(ShimMessageType.RequestLease),
        1 => Frame(ShimMessageType.RequestLease, ("memory_mib", Pick(random, Values)), ("wait", Pick(random, Values))),
        2 => Frame(ShimMessageType.Release),
        3 => Frame(ShimMessageType.Bye),
        4 => Frame(ShimMessageType.Hello, ("version", "1"), ("session", "again")),
        _ => Frame((ShimMessageType)random.Next(0x80, 0x86)),
    };

    private static byte[] RandomFieldsFrame(Random random, byte type)
    {
        var body = new List<byte>();
        for (var i = random.Next(0, 5); i > 0; i--)
        {
            body.AddRange(Encoding.UTF8.GetBytes($"{Pick(random, Keys)}={Pick(random, Values)}"));
            body.Add(0);
        }

        return [.. Header((uint)body.Count, type), .. body];
    }

    private static byte[] Mutate(Random random, byte[] frame)
    {
        var bytes = frame.ToList();
        for (var mutations = random.Next(1, 4); mutations > 0; mutations--)
        {
            switch (random.Next(7))
            {
                case 0 when bytes.Count > 0:
                    var bit = random.Next(bytes.Count * 8);
                    bytes[bit / 8] ^= (byte)(1 << (bit % 8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                    break;
                case 2 when bytes.Count > 0:
                    bytes.RemoveAt(random.Next(bytes.Count));
                    break;
                case 3:
                    bytes.Insert(random.Next(bytes.Count + 1), (byte)random.Next(256));
                    break;
                case 4 when bytes.Count > 0:
                    var start = random.Next(bytes.Count);
                    bytes.RemoveRange(start, Math.Min(bytes.Count - start, 1 + random.Next(3)));
                    break;
                case 5 when bytes.Count >= 4:
                    // A wrong length: off by a little, or wildly.
                    var length = random.Next(2) == 0 ? (uint)Math.Max(0, bytes.Count - 5 + random.Next(-3, 4)) : (uint)random.NextInt64(0, uint.MaxValue + 1L);
                    var header = new byte[4];
                    BinaryPrimitives.WriteUInt32BigEndian(header, length);
                    for (var i = 0; i < 4; i++)
                    {
                        bytes[i] = header[i];
                    }

                    break;
                default:
                    // Cut the frame short.
                    var cut = random.Next(bytes.Count + 1);
                    bytes.RemoveRange(cut, bytes.Count - cut);
                    break;
            }
        }

        return [.. bytes];
    }

    private static byte[] RandomHeader(Random random) => Header(random.Next(4) switch
    {
        0 => (uint)random.Next(0, 64),
        1 => (uint)ShimFrame.MaxBodyLength + (uint)random.Next(0, 3),
        2 => uint.MaxValue - (uint)random.Next(0, 3),
        _ => (uint)random.NextInt64(0, uint.MaxValue + 1L),
    }, (byte)random.Next(256));

    private static byte[] Header(uint length, byte type)
    {
        var header = new byte[ShimFrame.HeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(header, length);
        header[4] = type;
        return header;
    }

    private static byte[] Frame(ShimMessageType type, params (string Key, string Value)[] fields) =>
        ShimFrame.Encode(new ShimMessage(type, [.. fields.Select(field => KeyValuePair.Create(field.Key, field.Value))]));

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];
}
