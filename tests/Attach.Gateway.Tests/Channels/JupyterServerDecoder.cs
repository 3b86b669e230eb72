using System.Diagnostics;
using System.Text.Json;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Tests.Channels;

/// <summary>
/// Decodes frames with the real Python code: jupyter_server's deserializers, jupyter_client's
/// Session (which parses the dates) and nbformat (which validates the outputs a notebook would
/// store). All frames go through one python3 process, started once per test class.
/// </summary>
internal sealed class JupyterServerDecoder
{
    public const string Python = "/usr/bin/python3";

    // For each "name:protocol:path" argument, prints the decoded fields as one JSON object keyed by name.
    private const string Script = """
        import json, sys
        from datetime import datetime
        from jupyter_client.session import Session
        from jupyter_server.base.zmqhandlers import deserialize_binary_message, deserialize_msg_from_ws_v1
        import nbformat
        from nbformat import v4

        session = Session(key=b"")  # no key: no signature to check
        results = {}
        for arg in sys.argv[1:]:
            name, protocol, path = arg.split(":", 2)
            data = open(path, "rb").read()
            if protocol == "v1":
                channel, parts = deserialize_msg_from_ws_v1(data)
                # The same parts jupyter_server forwards to the kernel with send_raw.
                msg = session.deserialize([b""] + parts)
            elif protocol == "text":
                msg = json.loads(data.decode("utf-8"))
                channel = msg.pop("channel")
                msg = session.deserialize([b""] + [session.pack(msg[k]) for k in ("header", "parent_header", "metadata", "content")])
            else:
                msg = deserialize_binary_message(data)
                channel = msg.pop("channel")
            header = msg["header"]
            result = {
                "channel": channel,
                "msg_id": header["msg_id"],
                "msg_type": header["msg_type"],
                "session": header["session"],
                "username": header["username"],
                "version": header["version"],
                "date_parsed": isinstance(header["date"], datetime),
                "date": header["date"].isoformat() if isinstance(header["date"], datetime) else header["date"],
                "parent_msg_id": msg["parent_header"].get("msg_id"),
                "content": msg["content"],
                "metadata": msg["metadata"],
                "parent_header": msg["parent_header"],
            }
            if header["msg_type"] in ("stream", "error", "display_data"):
                output = v4.output_from_msg(msg)
                nb = v4.new_notebook(cells=[v4.new_code_cell("x", outputs=[output])])
                nbformat.validate(nb)
                result["nbformat_output_type"] = output["output_type"]
            results[name] = result
        print(json.dumps(results, default=str))
        """;

    /// <summary>Writes the frames to a temporary folder and decodes them all in one python3 run.</summary>
    public static IReadOnlyDictionary<string, JsonElement> Decode(IReadOnlyDictionary<string, (KernelWireProtocol Protocol, KernelFrame Frame)> frames)
    {
        var folder = Directory.CreateTempSubdirectory("attach-wire-");
        try
        {
            var start = new ProcessStartInfo(Python)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(Script);
            foreach (var (name, (protocol, frame)) in frames)
            {
                var path = Path.Combine(folder.FullName, name);
                File.WriteAllBytes(path, frame.Data.ToArray());
                var kind = protocol == KernelWireProtocol.V1 ? "v1" : frame.IsText ? "text" : "binary";
                start.ArgumentList.Add($"{name}:{kind}:{path}");
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Python}");
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
            {
                process.Kill();
                throw new TimeoutException("python3 did not finish decoding within a minute");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"python3 rejected the frames (exit {process.ExitCode}):\n{stderr.Result}");
            }

            using var document = JsonDocument.Parse(stdout);
            return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
