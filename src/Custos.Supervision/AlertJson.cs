using Custos.Execution.Wire;
using Google.Protobuf;

namespace Custos.Supervision;

/// <summary>
/// Alerts as JSON: protobuf's canonical JSON mapping, as the node's REST API writes every message (bytes in
/// base64, 64-bit integers as strings, enum names in upper snake case), with default values written so that a
/// field is never missing.
/// </summary>
public static class AlertJson
{
    public static JsonFormatter Formatter { get; } = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static string Format(IMessage message) => Formatter.Format(message);
}
