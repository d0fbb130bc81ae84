using System.Globalization;
using System.Text.RegularExpressions;

namespace Custos.Node.Tests.Support;

/// <summary>One sample line of the Prometheus text format.</summary>
internal sealed record PrometheusSample(string Family, string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A strict reader of the Prometheus text exposition format (version 0.0.4): every sample line is
/// <c>name{label="value",...} number</c>, HELP and TYPE come at most once per metric and before its first sample, and
/// all lines of one metric form one group. Problems are collected rather than thrown, sorted into syntax (a scraper
/// cannot read the line) and grouping (the format's ordering rules).
/// </summary>
internal sealed partial class PrometheusText
{
    private static readonly HashSet<string> Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    private PrometheusText()
    {
    }

    public List<PrometheusSample> Samples { get; } = [];

    public List<string> SyntaxErrors { get; } = [];

    public List<string> GroupingErrors { get; } = [];

    public Dictionary<string, string> TypeOf { get; } = [];

    public Dictionary<string, string> HelpOf { get; } = [];

    public double Value(string name, params (string Label, string Value)[] labels) =>
        Samples.Single(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Label, out var v) && v == l.Value)).Value;

    public static PrometheusText Parse(string text)
    {
        var result = new PrometheusText();
        if (!text.EndsWith('\n')) result.SyntaxErrors.Add("the last line does not end with a line feed");
        var closed = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            string family;
            if (line.StartsWith('#'))
            {
                var comment = CommentLine().Match(line);
                if (!comment.Success)
                {
                    result.SyntaxErrors.Add($"comment line is neither HELP nor TYPE: {line}");
                    continue;
                }

                family = comment.Groups["name"].Value;
                var kind = comment.Groups["kind"].Value;
                var rest = comment.Groups["rest"].Value;
                if (result.Samples.Any(s => s.Family == family)) result.GroupingErrors.Add($"{kind} of {family} after its samples");
                if (kind == "TYPE")
                {
                    if (!Types.Contains(rest)) result.SyntaxErrors.Add($"unknown type '{rest}' for {family}");
                    if (!result.TypeOf.TryAdd(family, rest)) result.GroupingErrors.Add($"second TYPE for {family}");
                }
                else if (!result.HelpOf.TryAdd(family, rest))
                {
                    result.GroupingErrors.Add($"second HELP for {family}");
                }
            }
            else
            {
                var sample = SampleLine().Match(line);
                if (!sample.Success || !TryParseValue(sample.Groups["value"].Value, out var value))
                {
                    result.SyntaxErrors.Add($"not a sample line: {line}");
                    continue;
                }

                var name = sample.Groups["name"].Value;
                family = result.FamilyOf(name);
                var labels = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (Capture capture in sample.Groups["label"].Captures)
                {
                    var pair = LabelPair().Match(capture.Value);
                    if (!labels.TryAdd(pair.Groups["key"].Value, Unescape(pair.Groups["value"].Value)))
                    {
                        result.SyntaxErrors.Add($"label {pair.Groups["key"].Value} repeats: {line}");
                    }
                }

                result.Samples.Add(new PrometheusSample(family, name, labels, value));
            }

            if (family != current)
            {
                if (current is not null) closed.Add(current);
                if (closed.Contains(family)) result.GroupingErrors.Add($"lines of {family} are not one group");
                current = family;
            }
        }

        return result;
    }

    /// <summary>A histogram's _bucket, _sum and _count samples belong to the histogram's family.</summary>
    private string FamilyOf(string name)
    {
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && TypeOf.TryGetValue(name[..^suffix.Length], out var type) && type is "histogram" or "summary")
            {
                return name[..^suffix.Length];
            }
        }

        return name;
    }

    private static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "+Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            case "NaN":
                value = double.NaN;
                return true;
            default:
                return double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value);
        }
    }

    private static string Unescape(string value)
    {
        var text = new System.Text.StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 1 < value.Length)
            {
                i++;
                text.Append(value[i] == 'n' ? '\n' : value[i]);
            }
            else
            {
                text.Append(value[i]);
            }
        }

        return text.ToString();
    }

    [GeneratedRegex("""^# (?<kind>HELP|TYPE) (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<rest>.+)$""")]
    private static partial Regex CommentLine();

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?<label>[a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^"\\\n])*")(,(?<label>[a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^"\\\n])*"))*)?\})? (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""^(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>.*)"$""", RegexOptions.Singleline)]
    private static partial Regex LabelPair();
}
