using System.Text;
using System.Text.Json;
using Custos.Core;
using Custos.Privacy.Masking;

namespace Custos.Node;

/// <summary>
/// Structured JSON log lines, one object per line: time, level, node, event and named fields. Only what is passed
/// is written; callers never pass keys, passphrases or private data. Personal identifiers are masked here, whatever
/// the caller passed (PRI-4): an <see cref="AccountId"/> or a <see cref="MaskedIdentifier"/> is written masked, and
/// any account id inside a text field is masked too (<see cref="IdentifierText"/>), so that an error message or a
/// query string naming an account cannot put it in the log whole. Thread-safe.
/// </summary>
public sealed class NodeLog(string node, TextWriter output, TimeProvider clock)
{
    private readonly Lock _gate = new();

    public static NodeLog Null { get; } = new("-", TextWriter.Null, TimeProvider.System);

    public void Info(string @event, params (string Name, object? Value)[] fields) => Write("info", @event, fields);

    public void Warn(string @event, params (string Name, object? Value)[] fields) => Write("warn", @event, fields);

    public void Error(string @event, params (string Name, object? Value)[] fields) => Write("error", @event, fields);

    private void Write(string level, string @event, (string Name, object? Value)[] fields)
    {
        if (ReferenceEquals(output, TextWriter.Null)) return;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("ts", clock.GetUtcNow().ToString("O"));
            json.WriteString("level", level);
            json.WriteString("node", node);
            json.WriteString("event", @event);
            foreach (var (name, value) in fields)
            {
                switch (value)
                {
                    case null:
                        json.WriteNull(name);
                        break;
                    case bool b:
                        json.WriteBoolean(name, b);
                        break;
                    case int or long or ulong or uint or double:
                        json.WriteNumber(name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    case AccountId account:
                        json.WriteString(name, IdentifierMask.Account(account));
                        break;
                    case MaskedIdentifier identifier:
                        json.WriteString(name, identifier.ToString());
                        break;
                    default:
                        json.WriteString(name, IdentifierText.Mask(value.ToString() ?? string.Empty));
                        break;
                }
            }

            json.WriteEndObject();
        }

        var line = Encoding.UTF8.GetString(buffer.ToArray());
        lock (_gate)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}
