using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Custos.Execution.Wire;
using Custos.Supervision;

namespace Custos.Node.Api;

/// <summary>
/// Alerts as the supervision API renders them: protobuf's canonical JSON (<see cref="AlertJson"/>) with the accounts
/// shown as <see cref="IdentifierDisplay"/> says. Masked, <c>subjectAccount</c> and <c>counterparty</c> hold the mask
/// as text instead of base64 bytes and <c>detail</c> has its account ids masked; revealed, the JSON is canonical and
/// parses back into the same alert. The stored alerts are never changed: only their rendering is.
/// </summary>
internal static class AlertView
{
    // Written as the protobuf formatter writes: non-ASCII text (details in Chinese) stays readable.
    private static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Format(Alert alert, IdentifierDisplay display)
    {
        if (display.Revealed)
        {
            Record(alert, display);
            return AlertJson.Format(alert);
        }

        var json = JsonNode.Parse(AlertJson.Format(alert))!.AsObject();
        Mask(json, alert, display);
        return json.ToJsonString(Output);
    }

    public static string Format(AlertPage page, IdentifierDisplay display)
    {
        if (display.Revealed)
        {
            foreach (var alert in page.Alerts) Record(alert, display);
            return AlertJson.Format(page);
        }

        var json = JsonNode.Parse(AlertJson.Format(page))!.AsObject();
        var alerts = json["alerts"]!.AsArray();
        for (var i = 0; i < page.Alerts.Count; i++) Mask(alerts[i]!.AsObject(), page.Alerts[i], display);
        return json.ToJsonString(Output);
    }

    // The full display records each account as it is rendered.
    private static void Record(Alert alert, IdentifierDisplay display)
    {
        display.Account(alert.SubjectAccount.Span);
        display.Account(alert.Counterparty.Span);
    }

    private static void Mask(JsonObject json, Alert alert, IdentifierDisplay display)
    {
        json["subjectAccount"] = display.Account(alert.SubjectAccount.Span);
        json["counterparty"] = display.Account(alert.Counterparty.Span);
        json["detail"] = display.Text(alert.Detail);
    }
}
