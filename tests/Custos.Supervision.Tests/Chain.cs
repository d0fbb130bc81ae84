using Custos.Core;
using Custos.Crypto;
using Custos.Execution.Wire;

namespace Custos.Supervision.Tests;

/// <summary>Small builders for blocks, payments and rules, so that each test reads as the situation it checks.</summary>
internal static class Chain
{
    public const string Token = "token";

    public static IHashFunction Hash => CryptoSuites.Intl;

    public static AccountId Account(ulong n) => new(0xA11CE, n);

    public static Hash32 Tx(ulong n)
    {
        var bytes = new byte[Hash32.SizeBytes];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(24), n);
        bytes[0] = 0x7E;
        return new Hash32(bytes);
    }

    public static Payment Pay(ulong tx, ulong from, ulong to, ulong amount, string asset = Token) => new(Tx(tx), 0, Account(from), Account(to), amount, asset);

    public static CommittedBlock Block(ulong height, ulong timeMs, params Payment[] payments) => new(height, timeMs, payments);

    /// <summary>Block <paramref name="height"/> one second after the previous, starting at time 1,000,000 ms.</summary>
    public static CommittedBlock At(ulong height, params Payment[] payments) => new(height, 1_000_000 + (height * 1_000), payments);

    public static SupervisionRule LargeValue(string id, ulong threshold) => new()
    {
        Id = id, Kind = SupervisionRuleKind.LargeValue, Threshold = threshold, Severity = AlertSeverity.High, Enabled = true,
    };

    public static SupervisionRule Velocity(string id, uint count = 0, ulong total = 0, ulong windowBlocks = 0, ulong windowMs = 0) => new()
    {
        Id = id, Kind = SupervisionRuleKind.Velocity, Count = count, Threshold = total, WindowBlocks = windowBlocks, WindowMs = windowMs,
        Severity = AlertSeverity.Medium, Enabled = true,
    };

    public static SupervisionRule Structuring(string id, ulong threshold, uint fractionBps, uint count, ulong windowBlocks = 0, ulong windowMs = 0) => new()
    {
        Id = id, Kind = SupervisionRuleKind.Structuring, Threshold = threshold, FractionBps = fractionBps, Count = count,
        WindowBlocks = windowBlocks, WindowMs = windowMs, Severity = AlertSeverity.High, Enabled = true,
    };

    public static SupervisionRule Watched(string id, params ulong[] accounts)
    {
        var rule = new SupervisionRule { Id = id, Kind = SupervisionRuleKind.WatchedAccount, Severity = AlertSeverity.Critical, Enabled = true };
        rule.WatchedAccounts.AddRange(accounts.Select(a => Account(a).ToByteString()));
        return rule;
    }

    public static AccountId Subject(Alert alert) => new(alert.SubjectAccount.Span);
}
