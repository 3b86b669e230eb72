using System.Text;
using Attach.Agent.Shim;

namespace Attach.Agent.Tests.Shim;

public sealed class ShimFrameTests
{
    [Fact]
    public void Encode_Hello_IsHeaderThenNulTerminatedFields()
    {
        var frame = ShimFrame.Encode(ShimMessage.Create(ShimMessageType.Hello, ShimMessage.Field("version", 1), ShimMessage.Field("session", "k-1")));

        byte[] expected = [0, 0, 0, 22, 0x01, .. Encoding.ASCII.GetBytes("version=1\0session=k-1\0")];
        Assert.Equal(expected, frame);
    }

    [Fact]
    public void Decode_RoundTripsUtf8AndEmptyValues()
    {
        var message = ShimMessage.Create(ShimMessageType.Granted, ShimMessage.Field("gpu_name", "A100 — 80 GB"), ShimMessage.Field("env.EMPTY", ""));
        var frame = ShimFrame.Encode(message);

        var decoded = ShimFrame.Decode(ShimMessageType.Granted, frame.AsSpan(ShimFrame.HeaderLength));

        Assert.Equal(message.Fields, decoded.Fields);
        Assert.Equal("A100 — 80 GB", decoded["gpu_name"]);
        Assert.Null(decoded["missing"]);
    }

    [Fact]
    public void Decode_EmptyBody_HasNoFields() => Assert.Empty(ShimFrame.Decode(ShimMessageType.Bye, []).Fields);

    [Theory]
    [InlineData("version=1")]
    [InlineData("version=1\0version=2\0")]
    [InlineData("=1\0")]
    [InlineData("version\0")]
    [InlineData("\0")]
    [InlineData("a b=1\0")]
    public void Decode_MalformedBody_BadBody(string body)
    {
        var exception = Assert.Throws<ShimProtocolException>(() => ShimFrame.Decode(ShimMessageType.Hello, Encoding.UTF8.GetBytes(body)));

        Assert.Equal(ShimErrorCodes.BadBody, exception.Code);
    }

    [Fact]
    public void Decode_InvalidUtf8Value_BadBody()
    {
        var exception = Assert.Throws<ShimProtocolException>(() => ShimFrame.Decode(ShimMessageType.Hello, [(byte)'k', (byte)'=', 0xff, 0]));

        Assert.Equal(ShimErrorCodes.BadBody, exception.Code);
        Assert.Contains("'k'", exception.Message);
    }

    [Fact]
    public void Encode_ValueWithNul_Throws() =>
        Assert.Throws<ArgumentException>(() => ShimFrame.Encode(ShimMessage.Create(ShimMessageType.Error, ShimMessage.Field("message", "a\0b"))));

    [Fact]
    public void Encode_BodyOverLimit_Throws() =>
        Assert.Throws<ArgumentException>(() => ShimFrame.Encode(ShimMessage.Create(ShimMessageType.Error, ShimMessage.Field("message", new string('x', ShimFrame.MaxBodyLength)))));
}
